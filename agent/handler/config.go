package handler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Config is a handler's merged key space: module config, module filter and
// the policy's window config, as pktvisor merges them. Values follow the
// YAML scalar typing of the compat doc: uint64, bool, string, []string, or a
// nested Config.
type Config map[string]any

// Window config keys every handler accepts, plus the keys the policy loader
// and metric-group selection use.
var commonKeys = []string{"deep_sample_rate", "num_periods", "topn_count", "topn_percentile_threshold",
	"enable", "disable", "_internal_tap_name", "recorded_stream"}

// CommonKeys returns the keys every handler accepts.
func CommonKeys() []string { return slices.Clone(commonKeys) }

// Validate rejects keys outside valid ∪ common keys with pktvisor's message.
func (c Config) Validate(valid []string) error {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(valid, k) || slices.Contains(commonKeys, k) {
			continue
		}
		shown := append(slices.Clone(valid), "deep_sample_rate", "num_periods", "topn_count", "topn_percentile_threshold")
		return fmt.Errorf("%s is an invalid/unsupported config or filter. The valid configs/filters are: %s", k, strings.Join(shown, ", "))
	}
	return nil
}

// Has reports whether key is set.
func (c Config) Has(key string) bool { _, ok := c[key]; return ok }

// Uint reads an unsigned integer (YAML digits, or a number from JSON).
func (c Config) Uint(key string, def uint64) (uint64, error) {
	v, ok := c[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case uint64:
		return x, nil
	case int:
		if x >= 0 {
			return uint64(x), nil
		}
	case int64:
		if x >= 0 {
			return uint64(x), nil
		}
	case float64:
		if x >= 0 && x == float64(uint64(x)) {
			return uint64(x), nil
		}
	case string:
		if n, err := strconv.ParseUint(x, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s must be an unsigned integer, got %v", key, v)
}

// Int reads Uint as an int, for sizes and counts.
func (c Config) Int(key string, def int) (int, error) {
	n, err := c.Uint(key, uint64(def))
	if err != nil {
		return 0, err
	}
	if n > 1<<31 {
		return 0, fmt.Errorf("%s is too large: %d", key, n)
	}
	return int(n), nil
}

// Bool reads a boolean.
func (c Config) Bool(key string, def bool) (bool, error) {
	v, ok := c[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s must be a boolean, got %v", key, v)
}

// String reads a string.
func (c Config) String(key, def string) (string, error) {
	v, ok := c[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case uint64, int, int64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("%s must be a string, got %T", key, v)
}

// StringList reads a list of scalars as strings; a single scalar becomes a
// one-element list.
func (c Config) StringList(key string) ([]string, error) {
	v, ok := c[key]
	if !ok {
		return nil, nil
	}
	switch x := v.(type) {
	case []string:
		return slices.Clone(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch s := e.(type) {
			case string, uint64, int, int64, bool, float64:
				out = append(out, fmt.Sprint(s))
			default:
				return nil, fmt.Errorf("%s must be a list of scalars, got %T in it", key, e)
			}
		}
		return out, nil
	case string, uint64, int, int64:
		return []string{fmt.Sprint(x)}, nil
	}
	return nil, fmt.Errorf("%s must be a list, got %T", key, v)
}

// Map reads a nested map.
func (c Config) Map(key string) (Config, error) {
	v, ok := c[key]
	if !ok {
		return nil, nil
	}
	switch x := v.(type) {
	case Config:
		return x, nil
	case map[string]any:
		return Config(x), nil
	}
	return nil, fmt.Errorf("%s must be a map, got %T", key, v)
}

// Merge returns a new Config with o's keys over c's.
func (c Config) Merge(o Config) Config {
	out := make(Config, len(c)+len(o))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range o {
		out[k] = v
	}
	return out
}
