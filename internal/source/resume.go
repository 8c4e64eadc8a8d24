package source

import (
	"errors"
	"fmt"
	"slices"
)

// A listing that does not fit in one Lambda invocation is read in segments:
// the controller asks List to pause at a page boundary (ListOptions.Pause),
// List answers *PausedError with the Cursor of the first page not read, and
// a later call resumes there (ListOptions.Resume). Resources of the pages
// read before a pause have all been passed to fn: the pager stops asking for
// new pages, and the GetResource calls of the pages already listed finish.

// Cursor is where a paused listing resumes: the ResourceModel being listed
// (child types list once per model; "" for a type without) and Cloud
// Control's NextToken for its next page ("" starts that model from its
// first page). Models before it in the shard's list are done.
type Cursor struct {
	Model     string `json:"model,omitempty"`
	NextToken string `json:"next_token,omitempty"`
}

// PausedError is List's answer when ListOptions.Pause stopped it: every
// resource before Cursor was delivered, none after it.
type PausedError struct {
	Cursor Cursor
	// Pages is how many pages this call read.
	Pages int
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("listing paused after %d pages", e.Pages)
}

// ErrTokenExpired: Cloud Control refused the NextToken a listing resumed
// with (InvalidRequestException on the first page of a resumed call, what an
// old token gets). The listing must start again from its first page.
var ErrTokenExpired = errors.New("cloud control refused the resumed NextToken")

// ErrCursorInvalid: the cursor names a ResourceModel the shard no longer
// lists (the config changed between two segments); start again.
var ErrCursorInvalid = errors.New("the resume cursor does not match the shard's resource models")

// resumeModels returns the models to list, starting at the cursor's, and the
// token of the first one.
func resumeModels(models []string, resume *Cursor) ([]string, string, error) {
	if resume == nil {
		return models, "", nil
	}
	i := slices.Index(models, resume.Model)
	if i < 0 {
		return nil, "", fmt.Errorf("resume with ResourceModel %q: %w", resume.Model, ErrCursorInvalid)
	}
	return models[i:], resume.NextToken, nil
}
