package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

const customerUsage = `valv customer add    [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--compartment ID] --name NAME [FIELD FLAGS]
       valv customer list   [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--compartment ID] [--offset N] [--limit N]
       valv customer search [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--limit N] QUERY
       valv customer show   [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--reveal] [--history] CODE
       valv customer edit   [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] CODE [FIELD FLAGS]
       valv customer retention [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--date YYYY-MM-DD]
       valv customer erase  [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--yes] CODE…

Field flags: --name, --personnummer, --orgnr, --address (repeatable),
--phone, --email, --card-number (repeatable), --account (repeatable), --notes,
--tag (repeatable), --retain-until YYYY-MM-DD; add also takes --code.
In an edit, a flag replaces the field (a repeatable flag the whole list);
an empty value clears it.

A search QUERY is a code, a personnummer or samordningsnummer in any form,
or words that begin words of the name, tags or notes (case and accents
ignored: "asa oberg" finds "Åsa Öberg"). It prints code, compartment and
the field that matched, best match first; never names.

retention lists the customers whose retention date is before today (or
--date): code, compartment, date. erase removes customers for good, with
every version and document, and compacts their compartment's file so that
nothing of them is left in it; it asks to type each code back unless --yes.
Backups made before keep the data until they rotate out.`

// customerCommand runs "valv customer add|list|search|show|edit|retention|erase".
func customerCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", customerUsage)
		return errUsage
	}
	switch args[0] {
	case "add", "edit":
		return customerAddEdit(args[0] == "edit", args[1:], stdout, stderr)
	case "list":
		return customerList(args[1:], stdout, stderr)
	case "search":
		return customerSearch(args[1:], stdout, stderr)
	case "show":
		return customerShow(args[1:], stdout, stderr)
	case "retention":
		return customerRetention(args[1:], stdout, stderr)
	case "erase":
		return customerErase(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "usage: %s\n", customerUsage)
	return errUsage
}

// fieldFlags are the flags that set customer fields.
type fieldFlags struct {
	name, pnr, orgnr, phone, email, notes, retain, code string
	addresses, cards, accounts, tags                    listFlag
}

func (f *fieldFlags) register(fs *flag.FlagSet, add bool) {
	fs.StringVar(&f.name, "name", "", "the customer's `name`")
	fs.StringVar(&f.pnr, "personnummer", "", "personnummer or samordningsnummer")
	fs.StringVar(&f.orgnr, "orgnr", "", "organisationsnummer")
	fs.Var(&f.addresses, "address", "an address (repeatable; \\n for a new line)")
	fs.StringVar(&f.phone, "phone", "", "telephone number")
	fs.StringVar(&f.email, "email", "", "e-mail address")
	fs.Var(&f.cards, "card-number", "a payment card number (repeatable)")
	fs.Var(&f.accounts, "account", "an IBAN or Swedish clearing-account number (repeatable)")
	fs.StringVar(&f.notes, "notes", "", "notes")
	fs.Var(&f.tags, "tag", "a tag (repeatable)")
	fs.StringVar(&f.retain, "retain-until", "", "retention `date`, YYYY-MM-DD")
	if add {
		fs.StringVar(&f.code, "code", "", "use this customer `code` instead of a new random one")
	}
}

// apply sets the fields whose flags were given.
func (f *fieldFlags) apply(fs *flag.FlagSet, c *customer.Customer) {
	list := func(l listFlag) []string {
		var out []string
		for _, s := range l {
			if s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			c.Name = f.name
		case "personnummer":
			c.PersonalNumber = f.pnr
		case "orgnr":
			c.OrgNumber = f.orgnr
		case "address":
			c.Addresses = nil
			for _, a := range list(f.addresses) {
				c.Addresses = append(c.Addresses, strings.ReplaceAll(a, `\n`, "\n"))
			}
		case "phone":
			c.Phone = f.phone
		case "email":
			c.Email = f.email
		case "card-number":
			c.Cards = list(f.cards)
		case "account":
			c.Accounts = list(f.accounts)
		case "notes":
			c.Notes = strings.ReplaceAll(f.notes, `\n`, "\n")
		case "tag":
			c.Tags = list(f.tags)
		case "retain-until":
			c.RetainUntil = f.retain
		case "code":
			c.Code = customer.Code(f.code)
		}
	})
}

// explain turns field errors into one line per field.
func explain(err error) error {
	if fe, ok := customer.AsFieldErrors(err); ok {
		var b strings.Builder
		b.WriteString("the customer was not saved:")
		for _, f := range fe {
			fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
		}
		return errors.New(b.String())
	}
	return err
}

func customerAddEdit(edit bool, args []string, stdout, stderr io.Writer) error {
	name := "valv customer add"
	if edit {
		name = "valv customer edit"
	}
	fs := newFlagSet(name, customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	comp := ""
	if !edit {
		fs.StringVar(&comp, "compartment", "", "compartment `id` (needed if the key opens several)")
	}
	var ff fieldFlags
	ff.register(fs, !edit)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if (edit && len(pos) != 1) || (!edit && len(pos) != 0) {
		fs.Usage()
		return errUsage
	}
	return withSession(&vf, func(s *store.Session) error {
		if !edit {
			cid, err := findCompartment(s, comp)
			if err != nil {
				return err
			}
			var c customer.Customer
			ff.apply(fs, &c)
			code, err := s.AddCustomer(cid, c)
			if err != nil {
				return explain(err)
			}
			fmt.Fprintln(stdout, code)
			return nil
		}
		rec, err := s.EditCustomer(customer.Code(pos[0]), func(c *customer.Customer) error {
			ff.apply(fs, c)
			return nil
		})
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "%s\tversion %d\n", rec.Customer.Code, rec.Version)
		return nil
	})
}

func customerList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv customer list", customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	comp := fs.String("compartment", "", "compartment `id` (default: every compartment this key opens)")
	offset := fs.Int("offset", 0, "skip the first `n` codes")
	limit := fs.Int("limit", -1, "list at most `n` codes (default all)")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		return errUsageOr(err)
	}
	return withSession(&vf, func(s *store.Session) error {
		var ids []store.CompartmentID
		if *comp != "" {
			cid, err := findCompartment(s, *comp)
			if err != nil {
				return err
			}
			ids = append(ids, cid)
		} else {
			cs, err := s.Compartments()
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.Unlocked {
					ids = append(ids, c.ID)
				}
			}
		}
		for _, cid := range ids {
			codes, _, err := s.ListCustomers(cid, *offset, *limit)
			if err != nil {
				return err
			}
			for _, c := range codes {
				fmt.Fprintf(stdout, "%s\t%s\n", c, cid)
			}
		}
		return nil
	})
}

func customerSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv customer search", customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	limit := fs.Int("limit", 50, "print at most `n` customers (0: all)")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) == 0 {
		return errUsageOr(err)
	}
	query := strings.Join(pos, " ")
	return withSession(&vf, func(s *store.Session) error {
		hits, err := s.SearchCustomers(query, *limit)
		if err != nil {
			return err
		}
		if len(hits) == 0 {
			if _, err := customer.ParseCode(query); errors.Is(err, customer.ErrCodeCheck) {
				return errors.New("no customer found; as a customer code, the query was probably mistyped (its check character does not match)")
			}
			return errors.New("no customer found in the compartments this key opens")
		}
		for _, h := range hits {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", h.Code, h.Compartment, h.Field)
		}
		return nil
	})
}

func customerShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv customer show", customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	reveal := fs.Bool("reveal", false, "show personal, card and account numbers in full (logged as a reveal)")
	history := fs.Bool("history", false, "show every version, newest first")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 {
		return errUsageOr(err)
	}
	code := customer.Code(pos[0])
	return withSession(&vf, func(s *store.Session) error {
		var recs []store.Record
		switch {
		case *history:
			rs, err := s.CustomerHistory(code, *reveal)
			if err != nil {
				return err
			}
			recs = rs
		case *reveal:
			r, err := s.RevealCustomer(code)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		default:
			r, err := s.ViewCustomer(code)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		for i, r := range recs {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printRecord(stdout, r)
		}
		return nil
	})
}

func printRecord(w io.Writer, r store.Record) {
	c := r.Customer
	line := func(label, value string) {
		if value != "" {
			value = strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", 15))
			fmt.Fprintf(w, "%-15s%s\n", label+":", value)
		}
	}
	lines := func(label string, values []string) {
		for _, v := range values {
			line(label, v)
		}
	}
	line("Code", string(c.Code))
	line("Compartment", r.Compartment.String())
	line("Version", fmt.Sprintf("%d, %s by %s", r.Version, r.Time.UTC().Format(time.DateTime+" MST"), r.Holder.Short()))
	line("Name", c.Name)
	line("Personnummer", c.PersonalNumber)
	line("Org.nr", c.OrgNumber)
	lines("Address", c.Addresses)
	line("Phone", c.Phone)
	line("E-mail", c.Email)
	lines("Card", c.Cards)
	lines("Account", c.Accounts)
	line("Notes", c.Notes)
	line("Tags", strings.Join(c.Tags, ", "))
	line("Retain until", c.RetainUntil)
	if r.Masked {
		fmt.Fprintln(w, "(numbers masked; --reveal shows them and is logged)")
	}
}
