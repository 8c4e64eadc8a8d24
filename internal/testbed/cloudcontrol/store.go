package cloudcontrol

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// TypeConfig describes how the emulated list handler of one resource type behaves.
type TypeConfig struct {
	// RequiredModelProperties are the ResourceModel properties a ListResources
	// call must name, as for child types (AWS::EKS::Nodegroup needs ClusterName).
	RequiredModelProperties []string `json:"requiredModelProperties,omitempty"`
	// ListProperties, when set, are the only properties ListResources returns;
	// GetResource always returns every property. Real list handlers often
	// return little more than the primary identifier.
	ListProperties []string `json:"listProperties,omitempty"`
}

// Resource is one stored resource.
type Resource struct {
	Region     string         `json:"region"`
	Type       string         `json:"type"`
	Identifier string         `json:"identifier"`
	Properties map[string]any `json:"properties"`
}

// Fixture is the JSON form of an emulator's state, as in demo.json.
type Fixture struct {
	// Source says where the data came from.
	Source    string                `json:"source,omitempty"`
	AccountID string                `json:"accountId,omitempty"`
	Types     map[string]TypeConfig `json:"types,omitempty"`
	Resources []Resource            `json:"resources"`
}

// ParseFixture decodes a fixture and checks that every resource is addressable.
func ParseFixture(data []byte) (*Fixture, error) {
	var f Fixture
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode cloud control fixture: %w", err)
	}
	seen := make(map[string]bool, len(f.Resources))
	for i, r := range f.Resources {
		if r.Region == "" || r.Type == "" || r.Identifier == "" {
			return nil, fmt.Errorf("cloud control fixture resources[%d]: region, type and identifier are required", i)
		}
		k := r.Region + "\x00" + r.Type + "\x00" + r.Identifier
		if seen[k] {
			return nil, fmt.Errorf("cloud control fixture resources[%d]: duplicate %s %s in %s", i, r.Type, r.Identifier, r.Region)
		}
		seen[k] = true
	}
	return &f, nil
}

type shelfKey struct{ region, typeName string }

// shelf holds the resources of one (region, type), kept sorted by identifier
// so that pagination is stable while resources come and go.
type shelf struct {
	ids   []string
	props map[string][]byte // identifier → properties as JSON
}

func (s *shelf) put(id string, props []byte) {
	if _, ok := s.props[id]; !ok {
		i := sort.SearchStrings(s.ids, id)
		s.ids = slices.Insert(s.ids, i, id)
	}
	s.props[id] = props
}

func (s *shelf) remove(id string) bool {
	if _, ok := s.props[id]; !ok {
		return false
	}
	delete(s.props, id)
	i := sort.SearchStrings(s.ids, id)
	s.ids = slices.Delete(s.ids, i, i+1)
	return true
}

// after returns the identifiers strictly greater than cursor.
func (s *shelf) after(cursor string) []string {
	if cursor == "" {
		return s.ids
	}
	i := sort.SearchStrings(s.ids, cursor)
	if i < len(s.ids) && s.ids[i] == cursor {
		i++
	}
	return s.ids[i:]
}
