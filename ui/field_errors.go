package ui

import (
	"strings"

	"github.com/valv-vault/valv/store/customer"
)

// fieldText words a validation error of the customer form in the
// window's language, by its field and Reason (store/customer/reason.go);
// translations/errors.*.json hold the strings. An error without a known
// Reason shows the store's English message.
func fieldText(e customer.FieldError) string {
	field := e.Field
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	d := map[string]any{"Min": e.Min, "Max": e.Max}
	if msg := fieldReason(field, e.Reason, d); msg != "" {
		return msg
	}
	return e.Message
}

// fieldReason is the translation of a reason for a field, falling back
// to the reasons worded alike for every field; "" if there is none.
func fieldReason(field string, r customer.Reason, d map[string]any) string {
	switch field {
	case "personnummer":
		switch r {
		case customer.ReasonFormat:
			return T("fielderr.pnr.format")
		case customer.ReasonPlus:
			return T("fielderr.pnr.plus")
		case customer.ReasonDate:
			return T("fielderr.pnr.date")
		case customer.ReasonCoordinationDate:
			return T("fielderr.pnr.coordination")
		case customer.ReasonFuture:
			return T("fielderr.pnr.future")
		case customer.ReasonTooOld:
			return T("fielderr.pnr.tooold")
		}
	case "organisationsnummer":
		switch r {
		case customer.ReasonChars:
			return T("fielderr.org.chars")
		case customer.ReasonLength:
			return T("fielderr.org.length", d)
		case customer.ReasonOrgThirdDigit:
			return T("fielderr.org.third")
		case customer.ReasonOrgLegalForm:
			return T("fielderr.org.legalform")
		}
	case "cards":
		switch r {
		case customer.ReasonChars:
			return T("fielderr.card.chars")
		case customer.ReasonLength:
			return T("fielderr.card.length", d)
		case customer.ReasonNotCard:
			return T("fielderr.card.notcard")
		}
	case "accounts":
		switch r {
		case customer.ReasonFormat:
			return T("fielderr.account.format")
		case customer.ReasonChars:
			return T("fielderr.account.chars")
		case customer.ReasonClearingLength:
			return T("fielderr.account.clearinglength")
		case customer.ReasonClearingFive:
			return T("fielderr.account.clearingfive")
		case customer.ReasonClearingCheck:
			return T("fielderr.account.clearingcheck")
		case customer.ReasonClearing:
			return T("fielderr.account.clearing")
		case customer.ReasonAccountCheck:
			return T("fielderr.account.check")
		case customer.ReasonIBANChars:
			return T("fielderr.iban.chars")
		case customer.ReasonIBANCountry:
			return T("fielderr.iban.country")
		case customer.ReasonIBANLength:
			return T("fielderr.iban.length")
		case customer.ReasonIBANFormat:
			return T("fielderr.iban.format")
		case customer.ReasonIBANChecksum:
			return T("fielderr.iban.checksum")
		}
	case "email":
		switch r {
		case customer.ReasonFormat:
			return T("fielderr.email.format")
		case customer.ReasonEmailDomain:
			return T("fielderr.email.domain")
		}
	case "phone":
		switch r {
		case customer.ReasonChars:
			return T("fielderr.phone.chars")
		case customer.ReasonLength:
			return T("fielderr.phone.length", d)
		}
	case "retain_until":
		if r == customer.ReasonDate {
			return T("fielderr.date")
		}
	case "code":
		switch r {
		case customer.ReasonCodeCheck:
			return T("fielderr.code.check")
		case customer.ReasonLength:
			return T("fielderr.code.length", d)
		case customer.ReasonChars:
			return T("fielderr.code.chars")
		}
	}
	switch r {
	case customer.ReasonRequired:
		return T("fielderr.required")
	case customer.ReasonLuhn:
		return T("fielderr.luhn")
	case customer.ReasonTooLong:
		return T("fielderr.toolong", d)
	case customer.ReasonTooMany:
		return T("fielderr.toomany", d)
	case customer.ReasonUTF8:
		return T("fielderr.utf8")
	case customer.ReasonControl:
		return T("fielderr.control")
	case customer.ReasonOneLine:
		return T("fielderr.oneline")
	}
	return ""
}
