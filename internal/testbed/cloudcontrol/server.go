package cloudcontrol

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// maxBody bounds a request body; Cloud Control requests are small.
const maxBody = 1 << 20

// apiError is an AWS JSON 1.0 error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func clientError(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// request is the union of the ListResources and GetResource inputs.
type request struct {
	TypeName      string `json:"TypeName"`
	TypeVersionID string `json:"TypeVersionId,omitempty"`
	RoleArn       string `json:"RoleArn,omitempty"`
	Identifier    string `json:"Identifier,omitempty"`
	NextToken     string `json:"NextToken,omitempty"`
	MaxResults    *int   `json:"MaxResults,omitempty"`
	ResourceModel string `json:"ResourceModel,omitempty"`
}

type resourceDescription struct {
	Identifier string `json:"Identifier"`
	Properties string `json:"Properties"`
}

type listOutput struct {
	TypeName             string                `json:"TypeName"`
	ResourceDescriptions []resourceDescription `json:"ResourceDescriptions"`
	NextToken            string                `json:"NextToken,omitempty"`
}

type getOutput struct {
	TypeName            string              `json:"TypeName"`
	ResourceDescription resourceDescription `json:"ResourceDescription"`
}

// ServeHTTP answers one AWS JSON 1.0 request.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", requestID())
	switch {
	case isGetBucketLocation(r):
		e.serveBucketLocation(w, r)
		return
	case isSTSQuery(r):
		e.serveSTS(w, r)
		return
	}
	out, err := e.serve(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: err.Error()}
		}
		writeJSON(w, ae.status, map[string]string{"__type": ae.code, "message": ae.message})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"__type":"InternalFailure","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (e *Emulator) serve(r *http.Request) (any, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{status: http.StatusNotFound, code: "UnknownOperationException", message: r.Method + " " + r.URL.Path}
	}
	region, err := RegionFromAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, &apiError{status: http.StatusForbidden, code: "MissingAuthenticationTokenException", message: err.Error()}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		return nil, clientError("SerializationException", "Content-Type %q, want application/x-amz-json-1.0", ct)
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "CloudApiService.")
	if !ok || (op != OpListResources && op != OpGetResource) {
		return nil, clientError("UnknownOperationException", "X-Amz-Target %q", r.Header.Get("X-Amz-Target"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, clientError("SerializationException", "read body: %v", err)
	}
	if len(body) > maxBody {
		return nil, clientError("SerializationException", "body larger than %d bytes", maxBody)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, clientError("SerializationException", "decode %s input: %v", op, err)
	}

	if err := e.delay(r.Context()); err != nil {
		return nil, err
	}
	switch op {
	case OpListResources:
		return e.list(region, req)
	default:
		return e.get(region, req)
	}
}

func (e *Emulator) delay(ctx context.Context) error {
	e.mu.Lock()
	d := e.latency
	e.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admit counts a call and decides whether an injected fault answers it.
// The caller holds e.mu.
func (e *Emulator) admit(op, region, typeName, identifier string) (*Counts, FaultKind, error) {
	c := e.counts[countKey{op, region}]
	if c == nil {
		c = &Counts{}
		e.counts[countKey{op, region}] = c
	}
	c.Calls++
	if e.throttle > 0 && e.rng.Float64() < e.throttle {
		c.Throttled++
		return c, "", clientError("ThrottlingException", "Rate exceeded")
	}
	kind, _ := e.faultFor(op, region, typeName, identifier)
	var err *apiError
	switch kind {
	case AccessDenied:
		action := "cloudformation:" + op
		err = clientError("AccessDeniedException", "User: arn:aws:iam::%s:user/emulated is not authorized to perform: %s on resource: %s in region %s", e.accountID, action, typeName, region)
	case HandlerAccessDenied:
		err = clientError("GeneralServiceException", "AccessDeniedException: User: arn:aws:iam::%s:user/emulated is not authorized to perform the read action behind %s in %s (Service: emulated, Status Code: 403, Request ID: %s)", e.accountID, typeName, region, requestID())
	case TypeNotFound:
		err = clientError("TypeNotFoundException", "The type %s cannot be found in region %s.", typeName, region)
	case UnsupportedAction:
		err = clientError("UnsupportedActionException", "Resource type %s does not support %s action", typeName, strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(op, "Resources"), "Resource")))
	case InternalError:
		err = &apiError{status: http.StatusInternalServerError, code: "ServiceInternalErrorException", message: "emulated internal error"}
	case NotFound:
		if op == OpGetResource {
			err = clientError("ResourceNotFoundException", "Resource of type '%s' with identifier '%s' was not found.", typeName, identifier)
		}
	}
	if err != nil {
		c.Failed++
		return c, kind, err
	}
	return c, kind, nil
}

func (e *Emulator) list(region string, req request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, kind, err := e.admit(OpListResources, region, req.TypeName, "")
	if err != nil {
		return nil, err
	}
	fail := func(err *apiError) (any, error) { c.Failed++; return nil, err }
	if req.TypeName == "" {
		return fail(clientError("ValidationException", "1 validation error detected: Value null at 'typeName' failed to satisfy constraint: Member must not be null"))
	}
	if req.MaxResults != nil && (*req.MaxResults < 1 || *req.MaxResults > 100) {
		return fail(clientError("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *req.MaxResults))
	}
	k := shelfKey{region, req.TypeName}
	cursor := ""
	model := req.ResourceModel
	if req.NextToken != "" {
		tok, ok := e.tokens[req.NextToken]
		if !ok || tok.key != k || (req.ResourceModel != "" && req.ResourceModel != tok.model) {
			return fail(clientError("InvalidRequestException", "Invalid NextToken"))
		}
		cursor, model = tok.cursor, tok.model
	}
	filter, aerr := e.modelFilter(req.TypeName, model)
	if aerr != nil {
		return fail(aerr)
	}
	size := e.pageSize
	if req.MaxResults != nil && *req.MaxResults < size {
		size = *req.MaxResults
	}
	out := listOutput{TypeName: req.TypeName, ResourceDescriptions: []resourceDescription{}}
	s := e.shelves[k]
	if s == nil {
		return out, nil
	}
	listProps := e.types[req.TypeName].ListProperties
	last := ""
	more := false
	for _, id := range s.after(cursor) {
		doc := s.props[id]
		if filter != nil && !filter(doc) {
			continue
		}
		if len(out.ResourceDescriptions) == size {
			more = true
			break
		}
		out.ResourceDescriptions = append(out.ResourceDescriptions, resourceDescription{Identifier: id, Properties: project(doc, listProps)})
		last = id
	}
	if more {
		if kind == RepeatNextToken && req.NextToken != "" {
			out.NextToken = req.NextToken
		} else {
			out.NextToken = e.newToken(pageToken{key: k, model: model, cursor: last})
		}
	}
	return out, nil
}

func (e *Emulator) get(region string, req request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, _, err := e.admit(OpGetResource, region, req.TypeName, req.Identifier)
	if err != nil {
		return nil, err
	}
	if req.TypeName == "" || req.Identifier == "" {
		c.Failed++
		return nil, clientError("ValidationException", "1 validation error detected: TypeName and Identifier must not be null")
	}
	s := e.shelves[shelfKey{region, req.TypeName}]
	if s == nil || s.props[req.Identifier] == nil {
		c.Failed++
		return nil, clientError("ResourceNotFoundException", "Resource of type '%s' with identifier '%s' was not found.", req.TypeName, req.Identifier)
	}
	return getOutput{
		TypeName:            req.TypeName,
		ResourceDescription: resourceDescription{Identifier: req.Identifier, Properties: string(s.props[req.Identifier])},
	}, nil
}

// modelFilter checks a ResourceModel against the type's required properties
// and returns a predicate keeping resources whose properties equal every
// property the model names. The caller holds e.mu.
func (e *Emulator) modelFilter(typeName, model string) (func([]byte) bool, *apiError) {
	required := e.types[typeName].RequiredModelProperties
	var want map[string]json.RawMessage
	if model != "" {
		if err := json.Unmarshal([]byte(model), &want); err != nil {
			return nil, clientError("InvalidRequestException", "ResourceModel is not a JSON object: %v", err)
		}
	}
	for _, p := range required {
		if _, ok := want[p]; !ok {
			return nil, clientError("InvalidRequestException", "Missing Or Invalid ResourceModel property in %s list handler request input. Required property: [%s]", typeName, strings.Join(required, ", "))
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	wantValues := make(map[string]any, len(want))
	for p, raw := range want {
		var v any
		_ = json.Unmarshal(raw, &v) // raw came from a valid JSON object
		wantValues[p] = v
	}
	return func(doc []byte) bool {
		var props map[string]any
		if json.Unmarshal(doc, &props) != nil {
			return false
		}
		for p, v := range wantValues {
			if !jsonEqual(props[p], v) {
				return false
			}
		}
		return true
	}, nil
}

func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// project keeps only the listed top-level properties of a JSON document.
func project(doc []byte, keep []string) string {
	if len(keep) == 0 {
		return string(doc)
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(doc, &all) != nil {
		return string(doc)
	}
	sub := make(map[string]json.RawMessage, len(keep))
	for _, p := range keep {
		if v, ok := all[p]; ok {
			sub[p] = v
		}
	}
	out, err := json.Marshal(sub)
	if err != nil {
		return string(doc)
	}
	return string(out)
}

// maxTokens bounds the page tokens kept; the oldest are forgotten first, as
// a real service expires them.
const maxTokens = 1 << 16

// newToken mints an opaque page token; the caller holds e.mu.
func (e *Emulator) newToken(t pageToken) string {
	tok := rand.Text()
	e.tokens[tok] = t
	e.tokenOrder = append(e.tokenOrder, tok)
	if len(e.tokenOrder) > maxTokens {
		delete(e.tokens, e.tokenOrder[0])
		e.tokenOrder = e.tokenOrder[1:]
	}
	return tok
}

func requestID() string { return rand.Text() }

// RegionFromAuthorization reads the region from the credential scope of a
// SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/cloudcontrolapi/aws4_request, SignedHeaders=..., Signature=...".
func RegionFromAuthorization(header string) (string, error) {
	if header == "" {
		return "", errors.New("missing Authorization header")
	}
	_, rest, ok := strings.Cut(header, "Credential=")
	if !ok {
		return "", errors.New("authorization header has no Credential")
	}
	scope, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(scope), "/")
	// AKID / date / region / service / aws4_request
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[2] == "" {
		return "", fmt.Errorf("credential scope %q is not AKID/date/region/service/aws4_request", scope)
	}
	return parts[2], nil
}

// Server is an emulator listening on a loopback port.
type Server struct {
	// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:40123.
	URL string
	// Emulator is the state behind the server.
	Emulator *Emulator

	http *http.Server
	done chan struct{}
}

// Listen serves the emulator on addr ("127.0.0.1:0" picks a free port).
func (e *Emulator) Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the cloud control emulator on %s: %w", addr, err)
	}
	s := &Server{
		URL:      "http://" + l.Addr().String(),
		Emulator: e,
		http:     &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(l) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.done
	if err != nil {
		return fmt.Errorf("close cloud control emulator %s: %w", s.URL, err)
	}
	return nil
}

// AWSConfig returns an SDK configuration aimed at this server with dummy
// static credentials; the region decides which emulated region answers.
// It ignores the environment, so a developer's real credentials are never used.
func (s *Server) AWSConfig(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEMULATED", "emulated-secret", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}
