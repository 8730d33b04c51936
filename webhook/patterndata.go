package webhook

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
)

// patternSizeKeys are the built-in policies' numeric keys of policies.data
// (docs/policy-input.md): a whole number of bytes, layers (maxAppLayers,
// maxLayers) or levels (maxDepth), or null for the policy's default
// (maxAppSize: unchecked).
var patternSizeKeys = []string{"maxImageSize", "maxAppSize", "maxAppLayers", "wastedLayerBytes", "largeLayerBytes", "maxDepth", "maxLayers"}

// buildToolKeys are the fields of a policies.data.buildTools entry.
var buildToolKeys = []string{"match", "unless", "unlessEnv", "images"}

// checkPatternData refuses values of the pattern policies' keys that they
// would silently ignore: Rego compares a number with a string without an
// error (and the policies fall back to their defaults on anything but a
// number), and skips a build tool whose pattern does not compile, so a
// mistake would only show as a check that never fires.
func checkPatternData(data map[string]any) []string {
	var problems []string
	for _, key := range patternSizeKeys {
		v, set := data[key]
		if !set || v == nil {
			continue
		}
		if !wholeNonNegative(v) {
			problems = append(problems, fmt.Sprintf("policies.data.%s: %v is not a whole number ≥ 0 (bytes; layers for maxAppLayers and maxLayers, levels for maxDepth), nor null for the default", key, v))
		}
	}
	if tools, set := data["buildTools"]; set && tools != nil {
		problems = append(problems, checkBuildTools(tools)...)
	}
	return problems
}

func wholeNonNegative(v any) bool {
	switch n := v.(type) {
	case int:
		return n >= 0
	case int64:
		return n >= 0
	case float64:
		return n >= 0 && n == math.Trunc(n) && n <= math.MaxInt64
	}
	return false
}

// checkBuildTools checks policies.data.buildTools: tool name → an entry, or
// false (or null) to remove a built-in tool of that name.
func checkBuildTools(v any) []string {
	tools, ok := v.(map[string]any)
	if !ok {
		return []string{"policies.data.buildTools: want a map of tool name to {match, unless, unlessEnv, images}, or false to remove a built-in tool"}
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(tools)) {
		key := "policies.data.buildTools." + name
		switch entry := tools[name].(type) {
		case nil, bool:
			if entry == true {
				problems = append(problems, key+": true is not an entry; want {match, unless, unlessEnv, images}, or false to remove the tool")
			}
		case map[string]any:
			problems = append(problems, checkBuildTool(key, entry)...)
		default:
			problems = append(problems, fmt.Sprintf("%s: %v is not an entry; want {match, unless, unlessEnv, images}, or false to remove the tool", key, entry))
		}
	}
	return problems
}

func checkBuildTool(key string, entry map[string]any) []string {
	var problems []string
	for _, field := range slices.Sorted(maps.Keys(entry)) {
		if !slices.Contains(buildToolKeys, field) {
			problems = append(problems, fmt.Sprintf("%s.%s: unknown field; want one of %s", key, field, strings.Join(buildToolKeys, ", ")))
		}
	}
	// Go's regexp is RE2, the dialect of Rego's regex.match.
	for _, field := range []string{"match", "unless", "unlessEnv"} {
		v, set := entry[field]
		if !set {
			continue
		}
		s, ok := v.(string)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.%s: %v is not a regular expression string", key, field, v))
			continue
		}
		if _, err := regexp.Compile(s); err != nil {
			problems = append(problems, fmt.Sprintf("%s.%s: %v", key, field, err))
		}
	}
	if v, set := entry["images"]; set {
		list, ok := v.([]any)
		if !ok {
			return append(problems, key+".images: want a list of patterns on canonical references")
		}
		for _, p := range list {
			s, ok := p.(string)
			if !ok || s == "" {
				problems = append(problems, fmt.Sprintf("%s.images: %v is not a pattern string", key, p))
				continue
			}
			problems = append(problems, checkRefPattern(key+".images", s)...)
		}
	}
	return problems
}
