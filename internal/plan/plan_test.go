package plan

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

type planCase struct {
	Name       string   `json:"name"`
	Desired    []string `json:"desired"`
	Owned      []string `json:"owned"`
	Problems   []string `json:"problems"`
	Protected  []string `json:"protected"`
	Candidates []string `json:"candidates"`
	Narrowed   bool     `json:"narrowed"`
	// Proven lists the refs AWS has shown gone; nil means all (a full listing).
	Proven         []string `json:"proven"`
	Policy         string   `json:"policy"`
	MaxDeleteShare *float64 `json:"max_delete_share"`
	WantDeletes    []string `json:"want_deletes"`
	WantWithheld   []string `json:"want_withheld"`
}

func ref(s string) entity.Ref {
	bp, id, _ := strings.Cut(s, "/")
	return entity.Ref{Blueprint: bp, Identifier: id}
}

func refStrings(refs []entity.Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.String())
	}
	return out
}

func TestCalculate(t *testing.T) {
	raw, err := os.ReadFile("testdata/plans.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []planCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/plans.yaml: %v", err)
	}
	// An emptied or truncated table must fail, not pass.
	if len(cases) < 22 {
		t.Fatalf("testdata/plans.yaml has %d cases, want at least 22", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			in := Input{Narrowed: c.Narrowed}
			for _, p := range c.Problems {
				in.Problems = append(in.Problems, errors.New(p))
			}
			for _, d := range c.Candidates {
				in.Candidates = append(in.Candidates, ref(d))
			}
			proven := map[entity.Ref]bool{}
			for _, p := range c.Proven {
				proven[ref(p)] = true
			}
			in.Proven = func(r entity.Ref) bool { return c.Proven == nil || proven[r] }
			for _, d := range c.Desired {
				in.Desired = append(in.Desired, ref(d))
			}
			for _, o := range c.Owned {
				in.Owned = append(in.Owned, ref(o))
			}
			protected := map[entity.Ref]bool{}
			for _, p := range c.Protected {
				protected[ref(p)] = true
			}
			in.Protected = func(r entity.Ref) bool { return protected[r] }
			policy := Policies["sync"]
			if c.Policy != "" {
				policy = Policies[c.Policy]
			}
			share := 0.5 // the table's default, the CLI's too
			if c.MaxDeleteShare != nil {
				share = *c.MaxDeleteShare
			}
			p := Calculate(in, policy, Guards(share)...)

			var withheld []entity.Ref
			for _, w := range p.Withheld {
				if w.Reason == "" {
					t.Errorf("withheld %s has no reason", w.Ref)
				}
				withheld = append(withheld, w.Ref)
			}
			sortRefs(withheld)
			check(t, "deletes", refStrings(p.Deletes), c.WantDeletes)
			check(t, "withheld", refStrings(withheld), c.WantWithheld)
		})
	}
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestWithheldReasonsNameTheCause(t *testing.T) {
	in := Input{Owned: []entity.Ref{{Blueprint: "b", Identifier: "x"}}, Problems: []error{errors.New("AccessDenied in eu-west-1")}}
	p := Calculate(in, Sync{}, HealthyShard{})
	if len(p.Withheld) != 1 || !strings.Contains(p.Withheld[0].Reason, "AccessDenied in eu-west-1") {
		t.Fatalf("withheld = %+v", p.Withheld)
	}
	p = Calculate(Input{Owned: []entity.Ref{{Blueprint: "b", Identifier: "x"}}}, Sync{}, MaxDeleteShare{Share: 0.5})
	if len(p.Withheld) != 1 || !strings.Contains(p.Withheld[0].Reason, "1 of the shard's 1 entities") {
		t.Fatalf("withheld = %+v", p.Withheld)
	}
}
