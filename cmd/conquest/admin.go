package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/codeofconquest/brightdawn/internal/auth"
)

const adminUsage = `usage: conquest admin grant|revoke <email>
       conquest admin grant       (grants every registered address in ADMIN_EMAILS)
       conquest admin list`

// runAdmin is `conquest admin grant|revoke|list`: the only way to make or
// unmake an admin. It talks to the database directly, so only an operator
// with the deployment's credentials can run it; no HTTP route changes a
// role. ADMIN_EMAILS is read here and nowhere else: a serving process never
// grants anything because of an address.
func runAdmin(ctx context.Context, a *app, args []string) error {
	svc, err := auth.NewService(auth.Deps{DB: a.pool, Redis: a.rdb, Config: a.cfg.Auth, Log: a.log})
	if err != nil {
		return err
	}
	out := os.Stdout
	switch {
	case len(args) == 1 && args[0] == "list":
		admins, err := svc.Admins(ctx)
		if err != nil {
			return err
		}
		return printPlayers(out, admins)
	case len(args) == 2 && (args[0] == "grant" || args[0] == "revoke"):
		role := auth.RoleAdmin
		if args[0] == "revoke" {
			role = auth.RolePlayer
		}
		p, err := svc.SetRole(ctx, args[1], role)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is now %s\n", p.Email, p.Role)
		return nil
	case len(args) == 1 && args[0] == "grant":
		if len(a.cfg.Auth.AdminEmails) == 0 {
			return fmt.Errorf("ADMIN_EMAILS is empty; name the email: %s", adminUsage)
		}
		for _, e := range a.cfg.Auth.AdminEmails {
			p, err := svc.SetRole(ctx, e, auth.RoleAdmin)
			if err != nil {
				// An address nobody registered yet is not an error for a
				// bootstrap run: rerun it once the account exists.
				fmt.Fprintf(out, "%s: %v\n", e, err)
				continue
			}
			fmt.Fprintf(out, "%s is now %s\n", p.Email, p.Role)
		}
		return nil
	}
	return fmt.Errorf("%s", adminUsage)
}

func printPlayers(w io.Writer, ps []auth.Player) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tID\tDISPLAY NAME\tSINCE")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Email, p.ID, p.DisplayName, p.CreatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}
