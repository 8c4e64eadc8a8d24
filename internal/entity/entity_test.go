package entity

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidateIdentifier(t *testing.T) {
	cases := []struct {
		id string
		ok bool
	}{
		{"test-function", true},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f", true},
		{"my_bucket.v2+x@y=z/\\", true},
		{"ünïcode", true},
		{".", false},
		{"..", false},
		{"...", true},
		{"", false},
		{"arn:aws:ecs:svc|cluster", false},
		{"has space", false},
		{"a#b", false},
		{"a?b", false},
		{"a,b", false},
		{strings.Repeat("a", 1000), true},
		{strings.Repeat("a", 1001), false},
	}
	for _, c := range cases {
		err := ValidateIdentifier(c.id)
		if (err == nil) != c.ok {
			t.Errorf("ValidateIdentifier(%.40q) = %v, want ok=%v", c.id, err, c.ok)
		}
	}
	if err := ValidateIdentifier("a|b"); err == nil || !strings.Contains(err.Error(), `'|'`) {
		t.Errorf("error should name the bad character, got %v", err)
	}
}

func TestValidateBlueprint(t *testing.T) {
	if err := ValidateBlueprint("lambda"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a=b", strings.Repeat("b", 101)} {
		if ValidateBlueprint(bad) == nil {
			t.Errorf("ValidateBlueprint(%q) accepted", bad)
		}
	}
}

// sync --output and handle print entities as JSON; an entity without
// relations must not show "relations": null.
func TestEntityJSONOmitsMissingRelations(t *testing.T) {
	b, err := json.Marshal(Entity{Blueprint: "b", Identifier: "i", Properties: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "relations") {
		t.Errorf("entity JSON %s has relations", b)
	}
}
