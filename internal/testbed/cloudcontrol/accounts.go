package cloudcontrol

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
)

// Accounts serves several accounts at one endpoint, one Emulator each, as
// AWS does: which account a call reads is decided by the credentials it was
// signed with, never by anything in the request. The access key of the
// SigV4 credential scope is mapped to its account by Resolve (for moto's
// assumed-role keys, moto's GetCallerIdentity with that key); a key of no
// known account is refused as AWS refuses an unknown key. Calls that are not
// Cloud Control's or S3's GetBucketLocation (STS, Organizations) go to Other.
//
// Every call is recorded with the account it was answered from, so a test
// can assert which credentials each read used. RevokeAfter makes a key
// expire in the middle of a listing (ExpiredTokenException from then on).
type Accounts struct {
	// Resolve maps an access key ID to its account.
	Resolve func(ctx context.Context, accessKeyID string) (string, error)
	// Other answers every other call (nil: 404).
	Other http.Handler

	mu        sync.Mutex
	emulators map[string]*Emulator
	keys      map[string]string // access key → account, resolved once
	calls     []Call
	revoke    map[string]int // account → calls left before its key in use is revoked
	revoked   map[string]bool
	expired   int
}

// Call is one Cloud Control (or GetBucketLocation) call.
type Call struct {
	// Account is the account of the key the call was signed with.
	Account, AccessKeyID, Op, Region string
	// Expired is true when the call was answered ExpiredTokenException.
	Expired bool
}

// NewAccounts returns an empty multi-account endpoint.
func NewAccounts(resolve func(context.Context, string) (string, error), other http.Handler) *Accounts {
	return &Accounts{Resolve: resolve, Other: other, emulators: map[string]*Emulator{}, keys: map[string]string{},
		revoke: map[string]int{}, revoked: map[string]bool{}}
}

// Account returns the emulator of account, made empty on first use.
func (a *Accounts) Account(id string) *Emulator {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.emulators[id]
	if e == nil {
		e = New()
		e.accountID = id
		a.emulators[id] = e
	}
	return e
}

// Calls are the calls answered so far.
func (a *Accounts) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}

// ResetCalls forgets the calls recorded.
func (a *Accounts) ResetCalls() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = nil
}

// RevokeAfter answers the account's next n calls, then revokes the key the
// next one is signed with: that call and every later one signed with it
// answer ExpiredTokenException. A new key of the account (a fresh
// AssumeRole) is served again.
func (a *Accounts) RevokeAfter(account string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoke[account] = n + 1
}

// Expired is how many calls were answered ExpiredTokenException.
func (a *Accounts) Expired() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.expired
}

// AccessKeyFromAuthorization reads the access key ID of a SigV4
// Authorization header's credential scope.
func AccessKeyFromAuthorization(header string) (string, error) {
	if _, err := RegionFromAuthorization(header); err != nil {
		return "", err
	}
	_, rest, _ := strings.Cut(header, "Credential=")
	key, _, _ := strings.Cut(rest, "/")
	if key = strings.TrimSpace(key); key == "" {
		return "", errors.New("credential scope has no access key")
	}
	return key, nil
}

func (a *Accounts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, isCC := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "CloudApiService.")
	if !isCC && !isGetBucketLocation(r) {
		if a.Other == nil {
			http.NotFound(w, r)
			return
		}
		a.Other.ServeHTTP(w, r)
		return
	}
	if !isCC {
		op = "GetBucketLocation"
	}
	header := r.Header.Get("Authorization")
	key, err := AccessKeyFromAuthorization(header)
	if err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"__type": "MissingAuthenticationTokenException", "message": err.Error()})
		return
	}
	region, _ := RegionFromAuthorization(header)
	account, err := a.accountOf(r.Context(), key)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "UnrecognizedClientException",
			"message": "The security token included in the request is invalid: " + err.Error()})
		return
	}
	a.mu.Lock()
	e := a.emulators[account]
	if left, armed := a.revoke[account]; armed {
		if left--; left == 0 {
			delete(a.revoke, account)
			a.revoked[key] = true
		} else {
			a.revoke[account] = left
		}
	}
	expired := a.revoked[key]
	if expired {
		a.expired++
	}
	a.calls = append(a.calls, Call{Account: account, AccessKeyID: key, Op: op, Region: region, Expired: expired})
	a.mu.Unlock()
	switch {
	case expired:
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"})
	case e == nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "UnrecognizedClientException",
			"message": "The security token included in the request is invalid (account " + account + " is not emulated)"})
	default:
		e.ServeHTTP(w, r)
	}
}

func (a *Accounts) accountOf(ctx context.Context, key string) (string, error) {
	a.mu.Lock()
	account, ok := a.keys[key]
	a.mu.Unlock()
	if ok {
		return account, nil
	}
	account, err := a.Resolve(ctx, key)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.keys[key] = account
	a.mu.Unlock()
	return account, nil
}
