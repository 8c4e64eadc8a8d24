package port

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// UpdateBlueprint sends a partial blueprint with PATCH /v1/blueprints/{id}:
// Port lays the body over the blueprint it holds and leaves every field the
// body does not name as it was (Port's "Update a blueprint"; its Terraform
// provider adds a relation this way). It returns Port's version of the
// blueprint after the change.
func (c *Client) UpdateBlueprint(ctx context.Context, id string, body json.RawMessage) (json.RawMessage, error) {
	return c.writeBlueprint(ctx, "update_blueprint", http.MethodPatch, id, body)
}

// ReplaceBlueprint replaces a blueprint with PUT /v1/blueprints/{id}
// (Port's "Change a blueprint"): a property or relation the body lacks is
// removed, with the values entities held in it.
func (c *Client) ReplaceBlueprint(ctx context.Context, id string, body json.RawMessage) (json.RawMessage, error) {
	return c.writeBlueprint(ctx, "replace_blueprint", http.MethodPut, id, body)
}

func (c *Client) writeBlueprint(ctx context.Context, route, method, id string, body json.RawMessage) (json.RawMessage, error) {
	if id == "" {
		return nil, fmt.Errorf("%s blueprint: no identifier", method)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%s blueprint %s: body is not valid JSON", method, id)
	}
	path := "/v1/blueprints/" + url.PathEscape(id)
	resp, err := c.do(ctx, request{route: route, method: method, path: path, body: body})
	if err != nil {
		return nil, err
	}
	var answer struct {
		Blueprint json.RawMessage `json:"blueprint"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || answer.Blueprint == nil {
		return nil, fmt.Errorf("port %s %s: answer has no blueprint (trace id %s)", method, path, resp.header.Get("X-Trace-Id"))
	}
	return answer.Blueprint, nil
}
