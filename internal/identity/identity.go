// Package identity knows, per Cloud Control kind, how an entity identifier
// leads back to the one resource that could have produced it. That is what
// lets an event prove a deletion with a single read: when a mapping names
// entities by the Cloud Control identifier (or by an ARN that embeds it), a
// definite not-found for that identifier shows that no resource of the shard
// maps to the entity now. Anything this package cannot vouch for is proven by
// a listing of the shard instead (internal/controller), never by the message.
package identity

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/catalog"

	"sigs.k8s.io/yaml"
)

//go:embed kinds.yaml
var kindsYAML []byte

type arnSpec struct {
	Property string `json:"property"`
	Pattern  string `json:"pattern"`
	re       *regexp.Regexp
}

type nameSpec struct {
	Property   string `json:"property"`
	Pattern    string `json:"pattern"`
	Identifier string `json:"identifier"`
	re         *regexp.Regexp
}

type kindSpec struct {
	PrimaryIdentifier string    `json:"primaryIdentifier"`
	ARN               *arnSpec  `json:"arn,omitempty"`
	Name              *nameSpec `json:"name,omitempty"`
}

var kinds = mustLoad(kindsYAML)

func mustLoad(raw []byte) map[string]kindSpec {
	var out map[string]kindSpec
	if err := yaml.UnmarshalStrict(raw, &out); err != nil {
		panic(fmt.Sprintf("identity: kinds.yaml: %v", err)) // embedded: a build-time mistake
	}
	for kind, spec := range out {
		if spec.PrimaryIdentifier == "" {
			panic("identity: kinds.yaml: " + kind + " has no primaryIdentifier")
		}
		if spec.ARN != nil {
			spec.ARN.re = regexp.MustCompile(spec.ARN.Pattern)
			if spec.ARN.re.NumSubexp() != 4 {
				panic("identity: kinds.yaml: " + kind + ": the ARN pattern needs 4 groups (partition, region, account, identifier)")
			}
		}
		if spec.Name != nil {
			spec.Name.re = regexp.MustCompile(spec.Name.Pattern)
			if !strings.Contains(spec.Name.Identifier, "{name}") {
				panic("identity: kinds.yaml: " + kind + ": the name template has no {name}")
			}
		}
		out[kind] = spec
	}
	return out
}

// Deriver turns an entity identifier into the Cloud Control identifier of the
// only resource of a shard that could map to it.
type Deriver interface {
	// CloudControlID returns that identifier, and false when the entity
	// identifier cannot be one this mapping produces in the shard's region
	// and account (then only a listing proves anything).
	CloudControlID(entityID, region, accountID string) (string, bool)
}

// sameID: the entity is named by the Cloud Control identifier itself.
type sameID struct{}

func (sameID) CloudControlID(id, _, _ string) (string, bool) { return id, id != "" }

// NamesByCloudControlID reports whether d's mapping names entities by the
// Cloud Control identifier itself (so an entity identifier and a resource
// identifier are the same string).
func NamesByCloudControlID(d Deriver) bool {
	_, ok := d.(sameID)
	return ok
}

// fromARN: the entity is named by an ARN whose last part is the identifier.
type fromARN struct{ re *regexp.Regexp }

func (d fromARN) CloudControlID(id, region, account string) (string, bool) {
	m := d.re.FindStringSubmatch(id)
	if m == nil || m[2] != region || m[3] != account {
		return "", false
	}
	return m[4], true
}

// EntityID is the inverse of CloudControlID: the entity identifier the
// mapping gives the resource of Cloud Control identifier ccID in a region
// and account, and false when d cannot build it. It holds that
// d.CloudControlID(EntityID(x)) == x, which every implementation checks
// before answering: ccID comes from a message, and a value that does not
// round-trip names no entity.
func EntityID(d Deriver, ccID, region, account string) (string, bool) {
	if ccID == "" || region == "" || account == "" {
		return "", false
	}
	var id string
	switch d := d.(type) {
	case sameID:
		id = ccID
	case fromARN:
		id = d.build([]string{Partition(region), region, account, ccID})
	case fromName:
		prefix, _, ok := strings.Cut(strings.NewReplacer("{partition}", Partition(region), "{region}", region, "{account}", account).Replace(d.spec.Identifier), "{name}")
		if !ok || !strings.HasPrefix(ccID, prefix) {
			return "", false
		}
		id = strings.TrimPrefix(ccID, prefix)
	default:
		return "", false
	}
	if back, ok := d.CloudControlID(id, region, account); !ok || back != ccID {
		return "", false
	}
	return id, true
}

// build fills the ARN pattern's four top-level groups with values, keeping
// its literal text (unescaped); "" when the pattern is not of that simple
// form (the round trip in EntityID then refuses the result anyway).
func (d fromARN) build(values []string) string {
	pat := strings.TrimSuffix(strings.TrimPrefix(d.re.String(), "^"), "$")
	var b strings.Builder
	depth, group := 0, 0
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			if depth == 0 {
				b.WriteByte(pat[i+1])
			}
			i++
		case c == '(':
			if depth == 0 {
				if group >= len(values) {
					return ""
				}
				b.WriteString(values[group])
				group++
			}
			depth++
		case c == ')':
			depth--
		case depth == 0:
			if strings.IndexByte(".*+?[]{}|", c) >= 0 {
				return "" // not a literal: no template to fill
			}
			b.WriteByte(c)
		}
	}
	if group != len(values) {
		return ""
	}
	return b.String()
}

// fromName: the entity is named by a name the Cloud Control identifier is
// built from, with the shard's partition, region and account.
type fromName struct{ spec *nameSpec }

func (d fromName) CloudControlID(id, region, account string) (string, bool) {
	if !d.spec.re.MatchString(id) || region == "" || account == "" {
		return "", false
	}
	r := strings.NewReplacer("{partition}", Partition(region), "{region}", region, "{account}", account, "{name}", id)
	return r.Replace(d.spec.Identifier), true
}

// Partition returns the AWS partition of a region, by the SDK's partition
// patterns (internal/catalog): aws-cn, aws-us-gov, aws-iso, aws-iso-b,
// aws-iso-e, aws-iso-f, aws-eusc, else aws.
func Partition(region string) string {
	if p, ok := catalog.PartitionOf(region); ok {
		return p
	}
	return "aws"
}

// Direct returns the Deriver for a mapping of kind whose identifier is the jq
// expression expr, and false when expr is not a form this package can
// vouch for (any computation beyond reading the one property).
func Direct(kind, expr string) (Deriver, bool) {
	spec, ok := kinds[kind]
	if !ok {
		return nil, false
	}
	switch prop, isPath := simplePath(expr); {
	case !isPath:
		return nil, false
	case prop == spec.PrimaryIdentifier:
		return sameID{}, true
	case spec.ARN != nil && prop == spec.ARN.Property:
		return fromARN{re: spec.ARN.re}, true
	case spec.Name != nil && prop == spec.Name.Property:
		return fromName{spec: spec.Name}, true
	}
	return nil, false
}

// identPath is a jq path of one object key: .Name
var identPath = regexp.MustCompile(`^\.([A-Za-z_][A-Za-z0-9_]*)$`)

func simplePath(expr string) (string, bool) {
	m := identPath.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// PrimaryIdentifier returns the single primary identifier property of kind
// as this package knows it ("" for kinds it does not know).
func PrimaryIdentifier(kind string) string { return kinds[kind].PrimaryIdentifier }

// Properties are what this package knows of the resource ccID of kind in
// a region and account: its primary identifier and, for kinds known by
// ARN, the ARN (what an offline plan, rules test's, can map).
func Properties(kind, ccID, region, account string) map[string]any {
	spec, ok := kinds[kind]
	if !ok {
		return map[string]any{}
	}
	props := map[string]any{spec.PrimaryIdentifier: ccID}
	if spec.ARN != nil {
		if arn, ok := EntityID(fromARN{re: spec.ARN.re}, ccID, region, account); ok {
			props[spec.ARN.Property] = arn
		}
	}
	return props
}
