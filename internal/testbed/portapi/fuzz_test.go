package portapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// FuzzEntityRoutes sends arbitrary bodies to the routes that parse outside
// input. Whatever arrives, the double answers one of Port's statuses with
// Port's body shape, and never stores an entity Port would have refused.
func FuzzEntityRoutes(f *testing.F) {
	f.Add(uint8(0), []byte(`{"identifier":"a","properties":{"arn":"x"}}`))
	f.Add(uint8(1), []byte(`{"entities":[{"identifier":"a"},{"identifier":"b","properties":{"arn":1}}]}`))
	f.Add(uint8(1), []byte(`{"entities":[{"identifier":"a","relations":{"peer":["b"]}}]}`))
	f.Add(uint8(2), []byte(`{"query":{"combinator":"or","rules":[{"property":"$team","operator":"in","value":["x"]},{"combinator":"and","rules":[]}]},"include":["properties.arn"],"limit":5}`))
	f.Add(uint8(3), []byte(`{"entities":["a","b"]}`))
	f.Add(uint8(4), []byte(`{"combinator":"and","rules":[{"property":"$identifier","operator":"=","value":"a"}]}`))
	f.Add(uint8(0), []byte(`{"identifier":"..","team":[1]}`))
	routes := []string{
		"/v1/blueprints/svc/entities?upsert=true&merge=true&create_missing_related_entities=true",
		"/v1/blueprints/svc/entities/bulk?upsert=true",
		"/v1/blueprints/svc/entities/search",
		"/v1/blueprints/svc/bulk/entities/delete?delete_dependents=true",
		"/v1/entities/search",
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		srv := NewHandler(Options{})
		if err := srv.AddBlueprint([]byte(`{"identifier":"svc","schema":{"properties":{"arn":{"type":"string"},"n":{"type":"number"}},"required":[]},
			"relations":{"peer":{"target":"svc","many":true}}}`)); err != nil {
			t.Fatal(err)
		}
		srv.Put("seed", entity.Entity{Blueprint: "svc", Identifier: "b", Properties: map[string]any{"arn": "y"}})
		token := handlerToken(t, srv)
		req := httptest.NewRequest(http.MethodPost, routes[int(route)%len(routes)], bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 201, 207, 404, 409, 413, 422:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer is not JSON: %q", rec.Body.Bytes())
		}
		if _, ok := answer["ok"].(bool); !ok {
			t.Fatalf("answer has no ok: %s", rec.Body.Bytes())
		}
		if rec.Code >= 400 && (answer["error"] == nil || answer["message"] == nil) {
			t.Fatalf("error answer without error/message: %s", rec.Body.Bytes())
		}
		if rec.Header().Get("X-Trace-Id") == "" {
			t.Fatal("no X-Trace-Id")
		}
		bp := srv.blueprints["svc"]
		for _, e := range srv.Entities("svc") {
			if err := entity.ValidateIdentifier(e.Identifier); err != nil {
				t.Fatalf("stored a bad identifier: %v", err)
			}
			if err := bp.checkProperties(e.Properties); err != nil {
				t.Fatalf("stored %q against the schema: %v", e.Identifier, err)
			}
			if _, aerr := bp.relationTargets(e.Relations); aerr != nil {
				t.Fatalf("stored %q with bad relations: %v", e.Identifier, aerr)
			}
		}
	})
}

func handlerToken(t *testing.T, srv *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, RouteToken[len("POST "):], bytes.NewReader([]byte(`{"clientId":"client-id","clientSecret":"double-client-secret-3f9a1c0e7b2d4f68"}`))))
	var tok struct{ AccessToken string }
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body.Bytes())
	}
	return tok.AccessToken
}
