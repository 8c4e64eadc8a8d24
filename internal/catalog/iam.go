package catalog

import (
	"regexp"
	"sort"
	"strings"
)

// readVerb: an action whose name starts with one of these only reads
// configuration (IAM's own convention; apigateway:GET is API Gateway's
// spelling of every read).
var readVerb = regexp.MustCompile(`^(Get|List|Describe|BatchGet|BatchDescribe|Search|Lookup|View|GET)`)

// dataAccess are read actions that reveal data rather than configuration
// (object contents, secrets, decrypted bytes). Some handlers list them; a
// read-only policy leaves them out and says so.
var dataAccess = map[string]bool{
	"s3:getobject":                  true,
	"s3:getobjectversion":           true,
	"secretsmanager:getsecretvalue": true,
	"ssm:getparameter":              true,
	"ssm:getparameters":             true,
	"ssm:getparametersbypath":       true,
	"dynamodb:getitem":              true,
	"dynamodb:batchgetitem":         true,
	"kinesis:getrecords":            true,
}

// ReadOnlyAction says whether an IAM action only reads configuration: its
// name starts with a read verb (Get, List, Describe, ...) and it reveals no
// data (an object, a secret, decrypted bytes). kms:Decrypt, iam:PassRole and
// writes some schemas list under their read handlers are not read-only.
func ReadOnlyAction(action string) bool {
	service, name, ok := strings.Cut(action, ":")
	if !ok || service == "" || name == "" {
		return false
	}
	return readVerb.MatchString(name) && !dataAccess[strings.ToLower(action)]
}

// NormalAction writes an action as IAM documents it: the service prefix in
// lower case (IAM ignores case; schemas sometimes write S3:GetBucketWebsite).
func NormalAction(action string) string {
	service, name, ok := strings.Cut(action, ":")
	if !ok {
		return action
	}
	return strings.ToLower(service) + ":" + name
}

// Permissions is what reading a set of kinds needs.
type Permissions struct {
	// Actions are the read-only actions, normalized, sorted, without
	// duplicates (case-insensitively).
	Actions []string
	// LeftOut are the actions the schemas list that are not read-only, each
	// with the kinds that list it; a read may fail without them (e.g.
	// kms:Decrypt for a function encrypted with a customer managed key).
	LeftOut map[string][]string
	// Unknown are the kinds the catalogue has no permissions for (not in it,
	// or not readable and with no other reader).
	Unknown []string
}

// ReadPermissions returns the IAM actions that reading kinds needs: for a
// kind Cloud Control reads, its list and read handlers' permissions; for a
// kind with another reader, that reader's (both when both may be used:
// until the config says which reader reads it, either may).
func ReadPermissions(kinds []string) Permissions {
	p := Permissions{LeftOut: map[string][]string{}}
	seen := map[string]bool{}
	add := func(kind, action string) {
		a := NormalAction(action)
		if !ReadOnlyAction(a) {
			if !containsString(p.LeftOut[a], kind) {
				p.LeftOut[a] = append(p.LeftOut[a], kind)
			}
			return
		}
		if key := strings.ToLower(a); !seen[key] {
			seen[key] = true
			p.Actions = append(p.Actions, a)
		}
	}
	for _, kind := range kinds {
		t, inCatalog := Lookup(kind)
		r, other := OtherReader(kind)
		if !other && !(inCatalog && t.Readable()) {
			p.Unknown = append(p.Unknown, kind)
			continue
		}
		if inCatalog && t.Readable() {
			for _, a := range t.ListPermissions {
				add(kind, a)
			}
			for _, a := range t.ReadPermissions {
				add(kind, a)
			}
		}
		for _, a := range r.Permissions {
			add(kind, a)
		}
	}
	sort.Slice(p.Actions, func(i, j int) bool { return strings.ToLower(p.Actions[i]) < strings.ToLower(p.Actions[j]) })
	return p
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
