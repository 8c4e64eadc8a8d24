package cloudcontrol

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The exporter asks STS who it is (GetCallerIdentity) to name its account's
// shards. So that `port-aws-exporter sync` can run against this emulator
// alone (demo --testbed, with AWS_ENDPOINT_URL), the emulator answers that
// one STS call, in the query protocol the SDK speaks, with its account.

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// isSTSQuery reports whether r is an STS query-protocol call: a form POST to /.
func isSTSQuery(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

func (e *Emulator) serveSTS(w http.ResponseWriter, r *http.Request) {
	if _, err := RegionFromAuthorization(r.Header.Get("Authorization")); err != nil {
		writeXML(w, http.StatusForbidden, s3Error{Code: "MissingAuthenticationToken", Message: err.Error()})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeXML(w, http.StatusBadRequest, s3Error{Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "GetCallerIdentity" {
		writeXML(w, http.StatusBadRequest, s3Error{Code: "InvalidAction", Message: "the emulator answers STS GetCallerIdentity only"})
		return
	}
	var out getCallerIdentityResponse
	out.Xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"
	account := e.AccountID()
	out.Result.Account = account
	out.Result.Arn = "arn:aws:iam::" + account + ":user/emulated"
	out.Result.UserID = "AIDAEMULATED"
	out.RequestID = requestID()
	writeXML(w, http.StatusOK, out)
}
