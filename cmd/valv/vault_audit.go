package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/valv-vault/valv/store"
)

const auditUsage = `valv audit verify [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin]
       valv audit export [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--format csv|jsonl] [--out FILE]`

// errAuditFailed is returned by "valv audit verify" for a log that does
// not verify (exit status 1, after the report).
var errAuditFailed = errors.New("the audit log does not verify")

// auditCommand runs "valv audit verify|export".
func auditCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", auditUsage)
		return errUsage
	}
	var vf vaultFlags
	switch args[0] {
	case "verify":
		fs := newFlagSet("valv audit verify", auditUsage, stderr)
		vf.register(fs)
		if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 {
			return errUsageOr(err)
		}
		return withSession(&vf, func(s *store.Session) error {
			reports, err := s.VerifyAudit()
			for _, r := range reports {
				if r.Err != nil {
					fmt.Fprintf(stdout, "FAIL\t%s\tentry %d: %s\n", r.Log, r.Err.Seq, r.Err.Reason)
					continue
				}
				line := fmt.Sprintf("ok\t%s\t%d entries\t%d checkpoints", r.Log, r.Entries, len(r.Checkpoints))
				if n := len(r.Checkpoints); n > 0 {
					c := r.Checkpoints[n-1]
					line += fmt.Sprintf("\tlast signed by %s at %s over %d entries", c.Holder.Short(), c.Time.UTC().Format(time.RFC3339), c.Size)
				}
				fmt.Fprintln(stdout, line)
			}
			var ae *store.AuditError
			if errors.As(err, &ae) {
				return fmt.Errorf("%w: %v", errAuditFailed, ae)
			}
			return err
		})
	case "export":
		fs := newFlagSet("valv audit export", auditUsage, stderr)
		vf.register(fs)
		format := fs.String("format", "csv", "`csv` or jsonl (JSON Lines)")
		out := fs.String("out", "", "write to `file` (created, never overwritten) instead of standard output")
		if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 {
			return errUsageOr(err)
		}
		if *format != "csv" && *format != "jsonl" {
			fmt.Fprintln(stderr, "valv audit export: --format is csv or jsonl")
			return errUsage
		}
		return withSession(&vf, func(s *store.Session) (err error) {
			w := stdout
			if *out != "" {
				f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				defer func() {
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						os.Remove(*out)
					}
				}()
				w = f
			}
			bw := bufio.NewWriter(w)
			if *format == "jsonl" {
				enc := json.NewEncoder(bw)
				if err := s.ExportAudit(func(e store.ExportedEntry) error { return enc.Encode(e) }); err != nil {
					return err
				}
				return bw.Flush()
			}
			cw := csv.NewWriter(bw)
			if err := cw.Write(store.CSVHeader); err != nil {
				return err
			}
			if err := s.ExportAudit(func(e store.ExportedEntry) error { return cw.Write(e.CSVRecord()) }); err != nil {
				return err
			}
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
			return bw.Flush()
		})
	}
	fmt.Fprintf(stderr, "usage: %s\n", auditUsage)
	return errUsage
}
