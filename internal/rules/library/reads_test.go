package library

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/itchyny/gojq"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/source/describe"
	"github.com/port-labs/port-aws-exporter/internal/source/s3region"
)

// mappingExpressions are every jq expression of a kind's default mapping.
func mappingExpressions(k Kind) []string {
	m := k.Mapping.Port.Entity.Mappings[0]
	exprs := []string{k.Mapping.Selector.Query, m.Identifier, m.Title}
	for _, e := range m.Properties {
		exprs = append(exprs, e)
	}
	for _, e := range m.Relations {
		exprs = append(exprs, e)
	}
	return exprs
}

// readProperties are the type's top-level properties a kind's mapping
// reads: the names of gojq's index terms (.Name at the start of a path,
// not .A.Name) that are properties of the type's schema. A path inside
// map(...) is relative to an element; its names count only when the type
// also has a top-level property so named, which can only make the check
// below stricter.
func readProperties(t *testing.T, k Kind, schema cfnSchema) []string {
	t.Helper()
	set := map[string]bool{}
	for _, expr := range mappingExpressions(k) {
		if expr == "" {
			continue
		}
		q, err := gojq.Parse(expr)
		if err != nil {
			t.Fatalf("%s: %q: %v", k.Name, expr, err)
		}
		indexNames(reflect.ValueOf(q), func(name string) {
			if _, ok := schema.Properties[name]; ok {
				set[name] = true
			}
		})
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

var termType = reflect.TypeOf(&gojq.Term{})

// indexNames walks a gojq AST and calls fn with the name of every index
// term (a path's first step).
func indexNames(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Type() == termType {
			if term := v.Interface().(*gojq.Term); term.Type == gojq.TermTypeIndex && term.Index != nil && term.Index.Name != "" {
				fn(term.Index.Name)
			}
		}
		indexNames(v.Elem(), fn)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				indexNames(v.Field(i), fn)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			indexNames(v.Index(i), fn)
		}
	}
}

// The library's default mappings read only what Cloud Control returns:
// every property they read is in the type's schema and none is write-only
// (GetResource never returns those), and each kind's schema says whether
// GetResource returns its tags.
func TestDefaultMappingsReadWhatCloudControlReturns(t *testing.T) {
	schemas := loadSchemas(t)
	for _, k := range allKinds(t) {
		s := schemas[k.Type]
		read := readProperties(t, k, s)
		if len(read) == 0 {
			t.Errorf("%s: the default mapping reads no property of the schema", k.Name)
		}
		for _, p := range read {
			if slices.Contains(s.WriteOnlyProperties, p) {
				t.Errorf("%s: the default mapping reads %s, which is write-only: Cloud Control never returns it", k.Name, p)
			}
		}
		if !slices.Contains(read, k.PrimaryIdentifier[0]) {
			t.Errorf("%s: the mapping does not read the primary identifier %s (the one property a listing always returns)", k.Name, k.PrimaryIdentifier[0])
		}
	}
}

// cloudControlReadsMarkdown is docs/kinds.md's section on what each default
// mapping reads and where Cloud Control returns it.
func cloudControlReadsMarkdown(t *testing.T) string {
	schemas := loadSchemas(t)
	var b strings.Builder
	b.WriteString("\n## What the default mappings read\n\n" +
		"Cloud Control's ListResources promises only each resource's primary identifier; GetResource returns the " +
		"resource's whole model except the type's write-only properties (its CloudFormation schema's " +
		"`writeOnlyProperties`, from the schemas shipped with cfn-lint, in internal/rules/library/testdata/cfn-schemas.json). " +
		"The exporter calls GetResource for every listed resource, so every property below is filled; with " +
		"`selector.aws.trust_list_properties: true` it maps the listing alone, and only what a type's list handler " +
		"happens to return is filled (for most types, the identifier alone). No default mapping reads a write-only " +
		"property (a test keeps it so). Tags: the property in which GetResource returns the resource's tags, when the " +
		"type is taggable.\n\n" +
		"| type | read from the listing | needs GetResource | tags |\n| --- | --- | --- | --- |\n")
	for _, k := range allKinds(t) {
		s := schemas[k.Type]
		var listed, got []string
		for _, p := range readProperties(t, k, s) {
			if slices.Contains(k.PrimaryIdentifier, p) {
				listed = append(listed, "`"+p+"`")
			} else {
				got = append(got, "`"+p+"`")
			}
		}
		tags := "not taggable"
		if s.Taggable && s.TagProperty != "" && !slices.Contains(s.WriteOnlyProperties, s.TagProperty) {
			tags = "`" + s.TagProperty + "` (GetResource)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.Type, strings.Join(listed, ", "), strings.Join(got, ", "), tags)
	}
	return b.String()
}

// describeMarkdown is docs/kinds.md's section on the kinds read through
// Describe APIs, and on S3 buckets' regions.
func describeMarkdown() string {
	var b strings.Builder
	b.WriteString("\n## Kinds read through Describe APIs\n\n" +
		"Port's original exporter read five kinds through their services' Describe APIs, and its published mappings " +
		"read those documents (`.State.Name`, `.Placement.AvailabilityZone`, `.Listeners`, `.CacheClusterId`, ...). " +
		"In a config.json these kinds are read the same way by default (internal/source/describe); " +
		"`selector.aws.reader: cloudcontrol` reads one through Cloud Control instead, with Cloud Control's document, " +
		"and `selector.aws.reader: describe` names the default. Every entry of one kind must get the same reader. The " +
		"library's mappings above read Cloud Control documents, so the config.json that `init` writes names " +
		"`reader: cloudcontrol` for those of its kinds that have a Describe reader. The document is the Describe " +
		"item as boto3 returned it to the original, timestamps aside (RFC 3339, which Port's date-time properties " +
		"require, where the original wrote Python's str form); internal/config/COMPATIBILITY.md has the details.\n\n" +
		"| type | identifier | IAM actions |\n| --- | --- | --- |\n")
	ids := map[string]string{
		describe.KindEC2Instance:  "`InstanceId`",
		describe.KindLoadBalancer: "`LoadBalancerArn` (a name is also read)",
		describe.KindCertificate:  "`CertificateArn` (no Cloud Control type)",
		describe.KindStack:        "`StackId` (a name is also read)",
		describe.KindCacheCluster: "`CacheClusterId`",
	}
	for _, kind := range describe.Kinds() {
		if !slices.Contains(config.DescribeKinds, kind) {
			panic(kind + " has a Describe reader but is not in config.DescribeKinds")
		}
		perms := describe.Permissions(kind)
		for i, p := range perms {
			perms[i] = "`" + p + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", kind, ids[kind], strings.Join(perms, ", "))
	}
	b.WriteString("\n## S3 buckets and regions\n\n" +
		"Cloud Control lists every bucket of the account in every region. Each bucket is read by one shard only, " +
		"with its real region (`" + strings.Join(s3region.Permissions, "`, `") + "`, once per bucket, cached for " +
		fmt.Sprint(int(s3region.LocationTTL.Minutes())) + " minutes): the shard of its own region when the config syncs S3 buckets there, " +
		"otherwise the shard of the first region the config names for them (the home shard), which also takes the " +
		"buckets whose location S3 will not tell. A shard lists the names and reads (GetResource) only its own " +
		"buckets, so a sync reads each bucket once instead of once per region. An entity written by another " +
		"region's shard under an older version moves to its bucket's shard on the next full sync (it is " +
		"protected while another shard produces it). An event naming a bucket with another shard's region is " +
		"refused (dead-lettered with the bucket's region): it is neither written nor taken as proof that the " +
		"bucket is gone.\n")
	return b.String()
}
