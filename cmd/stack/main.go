// Command stack runs the project's local servers (PGlite, Redis, versitygw) as
// child processes: a persistent dev stack for `conquest all`, or a throwaway
// test stack around one command.
//
//	stack dev [-servers-only]    dev stack on fixed ports, then conquest all
//	stack test -- CMD [ARGS...]  throwaway stack on free ports around CMD
//	stack env                    print the running dev stack's environment
//	stack wordvecs               build the word-vector and WordNet tables into .stack/wordvecs
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/codeofconquest/brightdawn/devstack"
)

const usage = `usage:
  stack dev [-servers-only]    run the dev stack (data in .stack/data) and conquest all
  stack test -- CMD [ARGS...]  run CMD against a throwaway stack, exit with its status
  stack env                    print the running dev stack's environment as shell exports
  stack wordvecs               build the word-vector and WordNet tables (WORDVEC_TABLE, WORDNET_TABLE) into .stack/wordvecs, once

DATABASE_URL, REDIS_URL or S3_ENDPOINT already set: that server is used, not started.
`

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	root, err := devstack.FindRoot(".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n", err)
		return 1
	}
	ctx, stop := devstack.InterruptContext(os.Stderr)
	defer stop()

	switch cmd, rest := args[0], args[1:]; cmd {
	case "dev":
		fs := flag.NewFlagSet("stack dev", flag.ContinueOnError)
		serversOnly := fs.Bool("servers-only", false, "start the servers but not conquest")
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		return devstack.RunDev(ctx, root, devstack.DevOptions{ServersOnly: *serversOnly}, os.Stderr)
	case "test":
		if len(rest) > 0 && rest[0] == "--" {
			rest = rest[1:]
		}
		return devstack.RunTest(ctx, root, rest, os.Stderr)
	case "env":
		if err := devstack.PrintEnv(root, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "stack: %v\n", err)
			return 1
		}
		return 0
	case "wordvecs":
		table, err := devstack.EnsureWordVecs(ctx, root, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "stack: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "stack: word-vector table at %s, WordNet table at %s (the default WORDVEC_TABLE and WORDNET_TABLE when run from the repository root)\n",
			table, devstack.WordNetTable(root))
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(os.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "stack: unknown command %q\n%s", cmd, usage)
		return 2
	}
}
