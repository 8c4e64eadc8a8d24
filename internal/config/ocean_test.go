package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type oceanCase struct {
	Name     string    `json:"name"`
	Dialect  string    `json:"dialect"`
	YAML     string    `json:"yaml"`
	Problems []string  `json:"problems"`
	Warnings *[]string `json:"warnings"`
	Notes    *[]string `json:"notes"`
}

func TestValidateOcean(t *testing.T) {
	cases := readCases[oceanCase](t, "testdata/validate-ocean.yaml")
	if len(cases) < 11 {
		t.Fatalf("testdata/validate-ocean.yaml has %d cases, want at least 11", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.YAML), YAML)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := map[string]Dialect{"ocean": DialectOcean, "exporter": DialectExporter}[tc.Dialect]
			if cfg.Dialect != want {
				t.Fatalf("read as %v (detected by %q), want %s", cfg.Dialect, cfg.DetectedBy, tc.Dialect)
			}
			matchAll(t, "problem", Validate(cfg), tc.Problems)
			if tc.Warnings != nil {
				matchAll(t, "warning", cfg.Warnings, *tc.Warnings)
			}
			if tc.Notes != nil {
				matchAll(t, "note", cfg.Notes, *tc.Notes)
			}
			if _, err := Compile(cfg); (err == nil) != (len(tc.Problems) == 0) {
				t.Fatalf("Compile error = %v, but Validate found %d problems", err, len(tc.Problems))
			}
		})
	}
}

// oceanTestdataWarnings are the warnings of the port-app-configs of
// testdata/ocean (SOURCES.md): each published expression Ocean maps to
// null because it does not compile even after Ocean's quote rewriting, and
// each kind this exporter cannot read as Ocean does.
var oceanTestdataWarnings = map[string][]string{
	"docs-aws-examples-cloud_resource.yml": {
		`resources[1].port.entity.mappings.properties.link: jq: parse error in "\"https://console.aws.amazon.com/ec2/home?region=\" + .__Region + InstanceDetails:instanceId=\" + Properties.InstanceId"`,
	},
	// Ocean reads stacks with DescribeStacks; Cloud Control has fewer fields.
	"docs-aws-examples-management_and_governance.yml": {
		`resources[0].kind: AWS::CloudFormation::Stack cannot be read as Ocean reads it: Ocean maps cloudformation:DescribeStacks answers`,
	},
	"docs-aws-examples-compute_resources.yml": {
		`resources[3].port.entity.mappings.properties.regionName: jq: compile error in "Properties.RegionName": function not defined: Properties/0`,
		`resources[3].port.entity.mappings.properties.ports: jq: parse error in ".Properties.Networking.Ports[](.FromPort`,
	},
}

// Every port-app-config Port published for Ocean's AWS integration (its
// default and the examples of its documentation) is read as Ocean's format,
// with no problem, only the expected warnings, and compiles.
func TestOceanTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/ocean/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d port-app-configs, want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg, err := Load(t.Context(), file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Dialect != DialectOcean || cfg.DetectedBy == "" {
				t.Fatalf("read as %v", cfg.Dialect)
			}
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.String())
			}
			want := oceanTestdataWarnings[filepath.Base(file)]
			if len(got) != len(want) {
				t.Fatalf("warnings %q, want %d: %q", got, len(want), want)
			}
			for i := range want {
				if !strings.Contains(got[i], want[i]) {
					t.Errorf("warning %q, want it to contain %q", got[i], want[i])
				}
			}
			if _, err := Compile(cfg); err != nil {
				t.Fatal(err)
			}
			for _, r := range cfg.Resources {
				if r.Selector.AWS.Document != DocumentOcean || r.Selector.AWS.RegionPolicy == nil {
					t.Errorf("%s: document %q, policy %v: want Ocean's", r.Kind, r.Selector.AWS.Document, r.Selector.AWS.RegionPolicy)
				}
			}
		})
	}
}

func TestDetectOcean(t *testing.T) {
	cases := []struct{ doc, path string }{
		{`{"resources": [{"kind": "AWS::S3::Bucket", "port": {"entity": {"mappings": []}}}]}`, ""},
		{`{"createMissingRelatedEntities": true, "resources": []}`, ""},
		{`{"deleteDependents": true, "resources": []}`, ""},
		{`{"resources": [], "entityDeletionThreshold": 0.5}`, "entityDeletionThreshold"},
		{`{"enableMergeEntity": true}`, "enableMergeEntity"},
		{`{"resources": [{"kind": "A::B::C"}, {"kind": "cloudResource"}]}`, "resources[1].kind"},
		{`{"resources": [{"selector": {"query": "true", "regionPolicy": {}}}]}`, "resources[0].selector.regionPolicy"},
		{`{"resources": [{"port": {"itemsToParseName": "x"}}]}`, "resources[0].port.itemsToParseName"},
		{`{"resources": [{"port": {"entity": {"mappings": {"identifier": ".a"}}}}]}`, "resources[0].port.entity.mappings"},
		{`[{"resources": []}]`, ""},
	}
	for _, c := range cases {
		root, err := parseTree([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		path, ok := detectOcean(root)
		if path != c.path || ok != (c.path != "") {
			t.Errorf("detectOcean(%s) = %q, %v; want %q", c.doc, path, ok, c.path)
		}
	}
	if len(cases) < 10 {
		t.Fatal("too few cases")
	}
}

// The region policy follows Ocean's is_region_allowed scenario by scenario.
func TestRegionPolicy(t *testing.T) {
	enabled := []string{"us-east-1", "eu-west-1", "ap-south-2", "eu-central-1"}
	cases := []struct {
		name        string
		policy      RegionPolicy
		want        []string
		candidates  []string // with default region eu-west-1, enabled regions unknown
		allowsOther bool     // Allows("sa-east-1")
	}{
		{"no policy: every enabled region", RegionPolicy{}, enabled, []string{"eu-west-1"}, true},
		{"allow only: those", RegionPolicy{Allow: []string{"eu-west-1", "us-east-1"}}, []string{"us-east-1", "eu-west-1"}, []string{"eu-west-1", "us-east-1"}, false},
		{"deny only: every other", RegionPolicy{Deny: []string{"eu-west-1"}}, []string{"us-east-1", "ap-south-2", "eu-central-1"}, []string{}, true},
		{"both: allowed and not denied", RegionPolicy{Allow: []string{"eu-west-1", "us-east-1"}, Deny: []string{"us-east-1"}}, []string{"eu-west-1"}, []string{"eu-west-1"}, false},
		{"denied wins over allowed", RegionPolicy{Allow: []string{"eu-west-1"}, Deny: []string{"eu-west-1"}}, []string{}, []string{}, false},
		{"a region in neither list, with both set, is not read", RegionPolicy{Allow: []string{"us-east-1"}, Deny: []string{"ap-south-2"}}, []string{"us-east-1"}, []string{"us-east-1"}, false},
		{"* allows every enabled region", RegionPolicy{Allow: []string{"*"}}, enabled, []string{"eu-west-1"}, true},
		{"* with deny", RegionPolicy{Allow: []string{"*"}, Deny: []string{"us-east-1"}}, []string{"eu-west-1", "ap-south-2", "eu-central-1"}, []string{"eu-west-1"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.policy.Regions(enabled); !slices.Equal(got, c.want) {
				t.Errorf("Regions = %v, want %v", got, c.want)
			}
			if got := c.policy.Candidates("eu-west-1"); !slices.Equal(got, c.candidates) {
				t.Errorf("Candidates = %v, want %v", got, c.candidates)
			}
			if got := c.policy.Allows("sa-east-1"); got != c.allowsOther {
				t.Errorf("Allows(sa-east-1) = %v, want %v", got, c.allowsOther)
			}
		})
	}
	if got := GlobalFirst([]string{"ap-south-2", "eu-south-1", "us-west-2", "eu-west-1"}); !slices.Equal(got, []string{"us-west-2", "eu-west-1", "ap-south-2", "eu-south-1"}) {
		t.Errorf("GlobalFirst = %v: want the standard regions first", got)
	}
}

func TestPydanticBool(t *testing.T) {
	cases := map[string]struct{ value, ok bool }{
		`true`: {true, true}, `false`: {false, true}, `"true"`: {true, true}, `"True"`: {true, true}, `"YES"`: {true, true},
		`"on"`: {true, true}, `"t"`: {true, true}, `"y"`: {true, true}, `"1"`: {true, true}, `1`: {true, true}, `1.0`: {true, true},
		`"false"`: {false, true}, `"off"`: {false, true}, `"n"`: {false, true}, `"0"`: {false, true}, `0`: {false, true},
		`" true"`: {false, false}, `"maybe"`: {false, false}, `2`: {false, false}, `""`: {false, false},
	}
	for doc, want := range cases {
		n, err := parseTree([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := pydanticBool(n); v != want.value || ok != want.ok {
			t.Errorf("pydanticBool(%s) = %v, %v; want %v, %v", doc, v, ok, want.value, want.ok)
		}
	}
}
