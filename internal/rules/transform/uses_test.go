package transform

import (
	"reflect"
	"testing"
)

// The seed's template with a quoted and an unquoted placeholder: Uses says
// which is which and where, TemplateKeys what every message should have.
func TestUsesAndTemplateKeys(t *testing.T) {
	tr, err := Compile(map[string]string{"name": "$.detail.requestParameters.functionName", "region": "$.region"},
		"{\n\"identifier\": \"<name>\",\n\"awsRegion\": <region>,\n\"rule\": \"<aws.events.rule-name>\",\n\"jq\": \"\\\"<name>\\\"\"\n}")
	if err != nil {
		t.Fatal(err)
	}
	want := []Use{
		{Name: "name", Path: "$.detail.requestParameters.functionName", Quoted: true, Line: 2, Column: 16, Offset: 17, WholeString: true},
		{Name: "region", Path: "$.region", Quoted: false, Line: 3, Column: 14, Offset: 39},
		{Name: "aws.events.rule-name", Path: "", Quoted: true, Line: 4, Column: 10, Offset: 58, WholeString: true},
		{Name: "name", Path: "$.detail.requestParameters.functionName", Quoted: true, Line: 5, Column: 10, Offset: 92}, // inside a jq string literal
	}
	if got := tr.Uses(); !reflect.DeepEqual(got, want) {
		t.Errorf("Uses() = %+v\nwant %+v", got, want)
	}
	if got, want := tr.TemplateKeys(), []string{"identifier", "awsRegion", "rule", "jq"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TemplateKeys() = %q, want %q", got, want)
	}

	// A value holding quotes, inside quotes, adds keys; Values shows it.
	event := `{"region":"eu-west-1","detail":{"requestParameters":{"functionName":"victim\",\"x\":\"y"}}}`
	r, err := tr.Render([]byte(event), Meta{RuleName: "r"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ObjectKeys(r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"identifier", "x", "awsRegion", "rule", "jq", "x"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys of %s = %q, want %q", r.Output, keys, want)
	}
	if got := string(r.Values["name"]); got != `"victim\",\"x\":\"y"` {
		t.Errorf("Values[name] = %s", got)
	}
	if got := string(r.Values["region"]); got != `"eu-west-1"` {
		t.Errorf("Values[region] = %s", got)
	}
}

func TestTemplateKeysOfNonObjectTemplates(t *testing.T) {
	for _, tmpl := range []string{`"<v>"`, `[<v>, 1]`, `plain <v> text`} {
		tr, err := Compile(map[string]string{"v": "$.id"}, tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if keys := tr.TemplateKeys(); keys != nil {
			t.Errorf("%s: TemplateKeys() = %q, want nil", tmpl, keys)
		}
	}
}

func TestObjectKeys(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: `{"a":1,"b":{"c":2},"a":3}`, want: []string{"a", "b", "a"}}, // duplicates kept, nested keys not listed
		{in: `{}`, want: []string{}},
		{in: ` {"k": [1, {"x": 2}], "l": null}`, want: []string{"k", "l"}},
		{in: `[1]`, wantErr: true},
		{in: `"s"`, wantErr: true},
		{in: `{"a":`, wantErr: true},
	}
	if len(cases) < 6 {
		t.Fatal("too few cases")
	}
	for _, c := range cases {
		got, err := ObjectKeys([]byte(c.in))
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v, want error %v", c.in, err, c.wantErr)
			continue
		}
		if !c.wantErr && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.in, got, c.want)
		}
	}
}
