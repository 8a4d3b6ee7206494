package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/visorng/visor/agent/handler"
)

// Scalar types a YAML scalar the way pktvisor does, whatever its YAML tag: only
// digits → uint64; true/false in any case → bool; anything else → string.
// (So "1.0" stays a string and "-1" is a string, as in pktvisor.)
func Scalar(n *yaml.Node) any {
	s := n.Value
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		return s
	}
	if b, ok := scalarBool(n); ok {
		return b
	}
	return s
}

func scalarBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// ConfigMap converts a mapping into a handler.Config: scalars typed by
// Scalar, sequences of scalars as []string, nested maps as nested Configs.
// notMap is the error text when n is not a mapping.
func ConfigMap(n *yaml.Node, notMap string) (handler.Config, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return handler.Config{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, Errorf(n, "%s", notMap)
	}
	return configMap(n, 1)
}

func configMap(n *yaml.Node, depth int) (handler.Config, error) {
	if depth > MaxDepth {
		return nil, Errorf(n, "configuration nests deeper than %d levels", MaxDepth)
	}
	c := make(handler.Config, len(n.Content)/2)
	err := eachPair(n, func(k, v *yaml.Node) error {
		val, err := value(v, depth)
		if err != nil {
			return err
		}
		c[k.Value] = val
		return nil
	})
	return c, err
}

func value(v *yaml.Node, depth int) (any, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return Scalar(v), nil
	case yaml.SequenceNode:
		list := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, Errorf(e, "sequences in configuration may hold scalars only")
			}
			list = append(list, e.Value)
		}
		return list, nil
	case yaml.MappingNode:
		return configMap(v, depth+1)
	case yaml.AliasNode:
		return nil, Errorf(v, "YAML aliases are not supported")
	}
	return nil, Errorf(v, "unsupported YAML node")
}
