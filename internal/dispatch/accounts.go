package dispatch

import (
	"fmt"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
)

// accountOf is the account a decision is about: its account_id, or the
// exporter's own account for a message without one (the seed's contract).
// Without an aws block the exporter reads its own account only and takes
// every message as its own, account_id or not: exactly what it did before
// messages named accounts (the rule library's now all do).
func accountOf(c *controller.Controller, d events.Decision) string {
	if d.AccountID != "" && c.MultiAccount() {
		return d.AccountID
	}
	return c.AccountID()
}

// refuseAccount dead-letters a message about an account the config does
// not read: it is never read with another account's credentials, and
// retrying cannot make the account appear (a sync that adds it does; the
// message can then be redriven).
func (h *Handler) refuseAccount(c *controller.Controller, id string, d events.Decision) (Outcome, bool) {
	account := accountOf(c, d)
	for _, a := range c.Accounts() {
		if a.ID == account {
			return Outcome{}, false
		}
	}
	return Outcome{ID: id, Status: StatusDeadLetter, Reason: events.ReasonUnknownAccount, Report: &Report{Decision: &d, DryRun: h.dryRun},
		Err: fmt.Errorf("account %s is not one the config reads (aws block): the event is not read with other credentials", account)}, true
}
