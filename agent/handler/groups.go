package handler

import (
	"fmt"
	"slices"
	"strings"
)

// Groups is the set of enabled metric groups of one handler instance.
type Groups map[string]bool

// ParseGroups applies the handler's defaults, then cfg's "disable" list,
// then its "enable" list (pktvisor's order). "all" sets or clears every
// group. A handler without groups passes all == nil and gets nil back.
func ParseGroups(cfg Config, all []string, defaults []string) (Groups, error) {
	if all == nil {
		return nil, nil
	}
	g := Groups{}
	for _, d := range defaults {
		g[d] = true
	}
	apply := func(key string, on bool) error {
		list, err := cfg.StringList(key)
		if err != nil {
			return err
		}
		for _, name := range list {
			if name == "all" {
				for _, a := range all {
					g[a] = on
				}
				continue
			}
			if !slices.Contains(all, name) {
				sorted := slices.Clone(all)
				slices.Sort(sorted)
				return fmt.Errorf("%s is an invalid/unsupported metric group. The valid groups are: all, %s", name, strings.Join(sorted, ", "))
			}
			g[name] = on
		}
		return nil
	}
	if err := apply("disable", false); err != nil {
		return nil, err
	}
	if err := apply("enable", true); err != nil {
		return nil, err
	}
	return g, nil
}

// On reports whether group is enabled.
func (g Groups) On(group string) bool { return g[group] }

// Any reports whether at least one group is on.
func (g Groups) Any() bool {
	for _, on := range g {
		if on {
			return true
		}
	}
	return false
}
