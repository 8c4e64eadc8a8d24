package config

// Dialect is the format a config is written in. Load tells them apart by
// their content (detectOcean), whatever the file is called.
type Dialect int

const (
	// DialectExporter is config.json of Port's AWS exporter: mappings is a
	// list, jq sees the Cloud Control properties.
	DialectExporter Dialect = iota
	// DialectOcean is port-app-config.yml of Port's Ocean AWS integration:
	// mappings is one object, jq sees {"Identifier", "Properties", "__Kind",
	// "__Region", "__AccountId"}, selectors may set useGetResourceAPI and
	// regionPolicy.
	DialectOcean
)

func (d Dialect) String() string {
	if d == DialectOcean {
		return "Ocean's port-app-config.yml (Port's Ocean AWS integration)"
	}
	return "config.json (Port's AWS exporter)"
}

// oceanTopLevelKeys are keys only a port-app-config has at its top
// (createMissingRelatedEntities is in both formats).
var oceanTopLevelKeys = map[string]bool{"deleteDependentEntities": true, "enableMergeEntity": true, "entityDeletionThreshold": true}

// oceanSelectorKeys and oceanPortKeys are keys only Ocean's entries have.
var (
	oceanSelectorKeys = map[string]bool{"useGetResourceAPI": true, "regionPolicy": true, "resourceKinds": true, "listGroupResources": true, "includeActions": true}
	oceanPortKeys     = map[string]bool{"itemsToParse": true, "itemsToParseName": true, "itemsToParseTopLevelTransform": true}
)

// detectOcean returns the JSON path of the first thing in the document that
// only a port-app-config.yml has, in document order, and whether there is
// one: a top-level Ocean option, a mappings written as one object, an Ocean
// selector or port key, or the cloudResource kind. Anything else (a config
// with neither) is read as config.json, Port's exporter's format.
func detectOcean(root *node) (string, bool) {
	if root == nil || root.kind != kindObject {
		return "", false
	}
	for _, m := range root.members {
		if oceanTopLevelKeys[m.key] {
			return m.key, true
		}
	}
	for i, r := range root.get("resources").list() {
		path := ResourcePath(i)
		if k := r.get("kind"); k != nil && k.kind == kindString && k.str == KindCloudResource {
			return path + ".kind", true
		}
		if sel := r.get("selector"); sel != nil && sel.kind == kindObject {
			for _, m := range sel.members {
				if oceanSelectorKeys[m.key] {
					return Key(path+".selector", m.key), true
				}
			}
		}
		port := r.get("port")
		if port == nil || port.kind != kindObject {
			continue
		}
		for _, m := range port.members {
			if oceanPortKeys[m.key] {
				return Key(path+".port", m.key), true
			}
		}
		if mappings := port.get("entity").get("mappings"); mappings != nil && mappings.kind == kindObject {
			return path + ".port.entity.mappings", true
		}
	}
	return "", false
}
