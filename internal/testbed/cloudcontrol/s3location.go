package cloudcontrol

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strings"
)

// The exporter reads AWS::S3::Bucket through Cloud Control and asks S3 for
// each bucket's region (internal/source/s3region). So that the demo and the
// tests that point every AWS client at this emulator need no S3 peer, the
// emulator also answers that one S3 call, GetBucketLocation, path-style
// (GET /{bucket}?location), from the buckets it holds: a bucket's region is
// the region it is stored under.

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
}

// isGetBucketLocation reports whether r is S3's GetBucketLocation, path-style.
func isGetBucketLocation(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	_, ok := r.URL.Query()["location"]
	bucket := strings.Trim(r.URL.Path, "/")
	return ok && bucket != "" && !strings.Contains(bucket, "/")
}

func (e *Emulator) serveBucketLocation(w http.ResponseWriter, r *http.Request) {
	if _, err := RegionFromAuthorization(r.Header.Get("Authorization")); err != nil {
		writeXML(w, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: err.Error()})
		return
	}
	bucket := strings.Trim(r.URL.Path, "/")
	region, ok := e.bucketRegion(bucket)
	if !ok {
		writeXML(w, http.StatusNotFound, s3Error{Code: "NoSuchBucket", Message: "The specified bucket does not exist", BucketName: bucket})
		return
	}
	if region == "us-east-1" {
		region = "" // S3 answers us-east-1 with an empty constraint
	}
	writeXML(w, http.StatusOK, locationConstraint{Xmlns: s3Namespace, Region: region})
}

// bucketRegion is the region a bucket named bucket is stored under; the
// first in name order if a fixture holds it in several.
func (e *Emulator) bucketRegion(bucket string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var regions []string
	for k, s := range e.shelves {
		if k.typeName != "AWS::S3::Bucket" {
			continue
		}
		if _, ok := s.props[bucket]; ok {
			regions = append(regions, k.region)
		}
	}
	if len(regions) == 0 {
		return "", false
	}
	sort.Strings(regions)
	return regions[0], true
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte("<Error><Code>InternalError</Code></Error>")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}
