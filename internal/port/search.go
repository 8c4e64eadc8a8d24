package port

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Query is a search in Port's query language.
type Query struct {
	// Combinator joins the rules: "and" (the default) or "or".
	Combinator string
	Rules      []Rule
	// Include limits the fields Port returns (e.g. "identifier", "$datasource"); all if empty.
	Include []string
}

// Rule is one condition, e.g. {"$datasource", "contains", "(accountid/1 ...)"}.
type Rule struct {
	Property string `json:"property"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

type searchBody struct {
	Query struct {
		Combinator string `json:"combinator"`
		Rules      []Rule `json:"rules"`
	} `json:"query"`
	Include []string `json:"include,omitempty"`
	Limit   int      `json:"limit"`
	From    string   `json:"from,omitempty"`
}

// foundEntity is an entity as Port's search returns it.
type foundEntity struct {
	Identifier string         `json:"identifier"`
	Title      string         `json:"title"`
	Icon       string         `json:"icon"`
	Blueprint  string         `json:"blueprint"`
	Team       any            `json:"team"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

// SearchEntities returns every entity of blueprint that matches q, following
// Port's pages (1,000 entities each) until there is no next page.
func (c *Client) SearchEntities(ctx context.Context, blueprint string, q Query) ([]entity.Entity, error) {
	if err := entity.ValidateBlueprint(blueprint); err != nil {
		return nil, fmt.Errorf("search %s: %w", blueprint, err)
	}
	var body searchBody
	body.Query.Combinator = q.Combinator
	if body.Query.Combinator == "" {
		body.Query.Combinator = "and"
	}
	body.Query.Rules = q.Rules
	if body.Query.Rules == nil {
		body.Query.Rules = []Rule{}
	}
	body.Include = q.Include
	body.Limit = searchLimit
	path := entitiesPath(blueprint) + "/search"
	var out []entity.Entity
	for page := 1; ; page++ {
		var answer struct {
			Entities []foundEntity `json:"entities"`
			Next     string        `json:"next"`
		}
		if err := c.postJSON(ctx, "search", path, nil, body, &answer); err != nil {
			return nil, fmt.Errorf("search %s, page %d: %w", blueprint, page, err)
		}
		for _, f := range answer.Entities {
			bp := f.Blueprint
			if bp == "" {
				bp = blueprint
			}
			out = append(out, entity.Entity{Blueprint: bp, Identifier: f.Identifier, Title: f.Title, Icon: f.Icon,
				Team: f.Team, Properties: f.Properties, Relations: f.Relations})
		}
		if answer.Next == "" {
			return out, nil
		}
		if answer.Next == body.From {
			return nil, fmt.Errorf("search %s, page %d: Port returned the same next cursor twice", blueprint, page)
		}
		body.From = answer.Next
	}
}

// GetBlueprint returns a blueprint's JSON; IsNotFound(err) when it does not exist.
func (c *Client) GetBlueprint(ctx context.Context, id string) (json.RawMessage, error) {
	resp, err := c.do(ctx, request{route: "get_blueprint", method: http.MethodGet, path: "/v1/blueprints/" + url.PathEscape(id)})
	if err != nil {
		return nil, err
	}
	var answer struct {
		Blueprint json.RawMessage `json:"blueprint"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || answer.Blueprint == nil {
		return nil, fmt.Errorf("port GET blueprint %s: answer has no blueprint (trace id %s)", id, resp.header.Get("X-Trace-Id"))
	}
	return answer.Blueprint, nil
}

// CreateBlueprint creates a blueprint from its JSON body and returns Port's
// version of it.
func (c *Client) CreateBlueprint(ctx context.Context, body json.RawMessage) (json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, fmt.Errorf("create blueprint: body is not valid JSON")
	}
	resp, err := c.do(ctx, request{route: "create_blueprint", method: http.MethodPost, path: "/v1/blueprints", body: body})
	if err != nil {
		return nil, err
	}
	var answer struct {
		Blueprint json.RawMessage `json:"blueprint"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || answer.Blueprint == nil {
		return nil, fmt.Errorf("port POST /v1/blueprints: answer has no blueprint (trace id %s)", resp.header.Get("X-Trace-Id"))
	}
	return answer.Blueprint, nil
}
