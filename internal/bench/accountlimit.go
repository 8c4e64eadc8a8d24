package bench

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// AccountRegionLimiter is RegionLimiter with one bucket per (account,
// region), as AWS budgets Cloud Control: the account is the one the
// signing key belongs to (resolved as the multi-account emulator resolves
// it), never anything the request says. Only Cloud Control calls are
// limited; STS, Organizations and SQS calls that share the endpoint go
// through unlimited.
type AccountRegionLimiter struct {
	*RegionLimiter
	resolve func(ctx context.Context, accessKeyID string) (string, error)
}

// NewAccountRegionLimiter lets perSecond Cloud Control requests a second
// (bursts of burst) through to next for each account-region; resolve maps a
// signing key to its account.
func NewAccountRegionLimiter(next http.Handler, perSecond float64, burst int, resolve func(context.Context, string) (string, error)) *AccountRegionLimiter {
	return &AccountRegionLimiter{RegionLimiter: NewRegionLimiter(next, perSecond, burst), resolve: resolve}
}

func (l *AccountRegionLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "CloudApiService.") {
		l.next.ServeHTTP(w, r)
		return
	}
	header := r.Header.Get("Authorization")
	region, err := cloudcontrol.RegionFromAuthorization(header)
	key, kerr := cloudcontrol.AccessKeyFromAuthorization(header)
	if err != nil || kerr != nil {
		l.next.ServeHTTP(w, r) // unsigned: the emulator refuses it
		return
	}
	account, err := l.resolve(r.Context(), key)
	if err != nil {
		l.next.ServeHTTP(w, r) // an unknown key: the emulator refuses it
		return
	}
	if !l.allow(AccountRegion(account, region)) {
		l.throttled.Add(1)
		writeThrottling(w)
		return
	}
	l.next.ServeHTTP(w, r)
}

// AccountRegion is the key of an account-region's bucket in Admitted.
func AccountRegion(account, region string) string { return account + "/" + region }

// keyAccounts caches which account each access key belongs to, so that the
// limiter and the emulator ask moto once per key, not once per call each.
type keyAccounts struct {
	resolve func(ctx context.Context, accessKeyID string) (string, error)
	mu      sync.Mutex
	known   map[string]string
}

func (k *keyAccounts) Resolve(ctx context.Context, key string) (string, error) {
	k.mu.Lock()
	account, ok := k.known[key]
	k.mu.Unlock()
	if ok {
		return account, nil
	}
	account, err := k.resolve(ctx, key)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	k.known[key] = account
	k.mu.Unlock()
	return account, nil
}
