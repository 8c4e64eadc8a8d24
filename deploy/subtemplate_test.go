package deploy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// motoSubTemplate derives from the real stack template the part moto can
// deploy with the given parameter values. Conditions are evaluated as
// CloudFormation would: resources whose condition is false are not created
// (they are neither kept nor reported), and only the chosen branch of Fn::If
// counts as a reference. A resource is kept when moto has a model for its type
// and every resource it refers to is kept (repeated until nothing changes);
// the outputs that still resolve stay. It returns the template and the
// resources that CloudFormation would create but the sub-template leaves out.
func motoSubTemplate(tmpl map[string]any, keepTypes []string, params map[string]string) (map[string]any, []string, error) {
	conds, err := conditionValues(tmpl, params)
	if err != nil {
		return nil, nil, err
	}
	resources, _ := tmpl["Resources"].(map[string]any)
	created := map[string]any{}
	for id, r := range resources {
		if c, ok := r.(map[string]any)["Condition"].(string); ok && !conds[c] {
			continue
		}
		created[id] = r
	}
	kept := map[string]any{}
	for id, r := range created {
		if slices.Contains(keepTypes, r.(map[string]any)["Type"].(string)) {
			kept[id] = r
		}
	}
	for changed := true; changed; {
		changed = false
		for id, r := range kept {
			for ref := range references(r, conds) {
				if _, isResource := resources[ref]; isResource && kept[ref] == nil {
					delete(kept, id)
					changed = true
					break
				}
			}
		}
	}
	var dropped []string
	for id := range created {
		if kept[id] == nil {
			dropped = append(dropped, id)
		}
	}
	slices.Sort(dropped)

	outputs := map[string]any{}
	outs, _ := tmpl["Outputs"].(map[string]any)
	for name, o := range outs {
		resolves := true
		for ref := range references(o, conds) {
			if _, isResource := resources[ref]; isResource && kept[ref] == nil {
				resolves = false
			}
		}
		if resolves {
			outputs[name] = o
		}
	}
	sub := map[string]any{}
	for k, v := range tmpl {
		sub[k] = v
	}
	sub["Resources"] = kept
	sub["Outputs"] = outputs
	return sub, dropped, nil
}

// conditionValues evaluates a template's Conditions (Fn::Equals, Fn::Not,
// Fn::And, Fn::Or, Condition) for the given parameter values and defaults.
func conditionValues(tmpl map[string]any, params map[string]string) (map[string]bool, error) {
	defs, _ := tmpl["Conditions"].(map[string]any)
	decls, _ := tmpl["Parameters"].(map[string]any)
	values := map[string]bool{}
	evaluating := map[string]bool{}
	var cond func(name string) (bool, error)
	var eval func(expr any) (bool, error)
	resolve := func(v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case float64, bool:
			return fmt.Sprint(v), nil
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok {
				return parameterValue(decls, params, ref)
			}
			if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
				sep, _ := join[0].(string)
				if ref, ok := join[1].(map[string]any)["Ref"].(string); ok {
					list, err := parameterValue(decls, params, ref)
					return strings.Join(strings.Split(list, ","), sep), err
				}
			}
		}
		return "", fmt.Errorf("cannot resolve %v in a condition", v)
	}
	eval = func(expr any) (bool, error) {
		m, ok := expr.(map[string]any)
		if !ok || len(m) != 1 {
			return false, fmt.Errorf("condition %v is not one function", expr)
		}
		for fn, arg := range m {
			args, _ := arg.([]any)
			switch fn {
			case "Condition":
				name, _ := arg.(string)
				return cond(name)
			case "Fn::Equals":
				if len(args) != 2 {
					return false, fmt.Errorf("Fn::Equals takes two values: %v", arg)
				}
				a, err := resolve(args[0])
				if err != nil {
					return false, err
				}
				b, err := resolve(args[1])
				return a == b, err
			case "Fn::Not":
				if len(args) != 1 {
					return false, fmt.Errorf("Fn::Not takes one condition: %v", arg)
				}
				v, err := eval(args[0])
				return !v, err
			case "Fn::And", "Fn::Or":
				and := fn == "Fn::And"
				for _, a := range args {
					v, err := eval(a)
					if err != nil {
						return false, err
					}
					if v != and {
						return v, nil
					}
				}
				return and, nil
			}
			return false, fmt.Errorf("unsupported condition function %s", fn)
		}
		return false, nil
	}
	cond = func(name string) (bool, error) {
		if v, ok := values[name]; ok {
			return v, nil
		}
		def, ok := defs[name]
		if !ok {
			return false, fmt.Errorf("undefined condition %s", name)
		}
		if evaluating[name] {
			return false, fmt.Errorf("condition %s refers to itself", name)
		}
		evaluating[name] = true
		v, err := eval(def)
		if err != nil {
			return false, fmt.Errorf("condition %s: %w", name, err)
		}
		values[name] = v
		return v, nil
	}
	for name := range defs {
		if _, err := cond(name); err != nil {
			return nil, err
		}
	}
	return values, nil
}

func parameterValue(decls map[string]any, params map[string]string, name string) (string, error) {
	if v, ok := params[name]; ok {
		return v, nil
	}
	decl, ok := decls[name].(map[string]any)
	if !ok {
		return "", fmt.Errorf("condition refers to %s, which is not a parameter", name)
	}
	def, ok := decl["Default"]
	if !ok {
		return "", fmt.Errorf("parameter %s has no value and no default", name)
	}
	return fmt.Sprint(def), nil
}

var subVariable = regexp.MustCompile(`\$\{([A-Za-z0-9:]+)(\.[A-Za-z0-9.]+)?\}`)

// references lists the logical names a template fragment refers to through
// Ref, Fn::GetAtt, Fn::Sub and DependsOn, following only the branch of each
// Fn::If that its condition selects.
func references(v any, conds map[string]bool) map[string]bool {
	refs := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if branches, ok := v["Fn::If"].([]any); ok && len(branches) == 3 {
				name, _ := branches[0].(string)
				if conds[name] {
					walk(branches[1])
				} else {
					walk(branches[2])
				}
				return
			}
			for k, x := range v {
				switch k {
				case "Ref":
					if s, ok := x.(string); ok {
						refs[s] = true
					}
				case "Fn::GetAtt":
					switch a := x.(type) {
					case []any:
						if len(a) > 0 {
							if s, ok := a[0].(string); ok {
								refs[s] = true
							}
						}
					case string:
						refs[strings.SplitN(a, ".", 2)[0]] = true
					}
				case "Fn::Sub":
					s, _ := x.(string)
					if a, ok := x.([]any); ok && len(a) > 0 {
						s, _ = a[0].(string)
					}
					for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
						refs[m[1]] = true
					}
				case "DependsOn":
					switch d := x.(type) {
					case string:
						refs[d] = true
					case []any:
						for _, e := range d {
							if s, ok := e.(string); ok {
								refs[s] = true
							}
						}
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return refs
}
