package ui

import (
	"fmt"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/valv-vault/valv/store/service"
)

// Card is a key holder's card as the engine reports it.
type Card = service.Card

// cardsScreen lists the key holders' cards present: the first thing the
// window shows, before unlock.
type cardsScreen struct {
	svc     Service
	content fyne.CanvasObject
	status  *widget.Label
	list    *widget.List
	refresh func()

	mu    sync.Mutex
	cards []Card
}

func newCardsScreen(svc Service) *cardsScreen {
	s := &cardsScreen{svc: svc}
	title := widget.NewLabelWithStyle("Key holder cards", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.status = widget.NewLabel("Looking for cards…")
	s.status.Wrapping = fyne.TextWrapWord
	s.list = widget.NewList(s.length, s.newRow, s.updateRow)
	button := widget.NewButtonWithIcon("Look again", theme.ViewRefreshIcon(), nil)
	s.refresh = func() {
		button.Disable()
		s.status.SetText("Looking for cards…")
		background(func() {
			cards, err := svc.Cards()
			fyne.Do(func() {
				s.show(cards, err)
				button.Enable()
			})
		})
	}
	button.OnTapped = s.refresh
	top := container.NewVBox(title, s.status)
	s.content = container.NewBorder(top, container.NewHBox(button), nil, nil, s.list)
	return s
}

func (s *cardsScreen) show(cards []Card, err error) {
	s.mu.Lock()
	s.cards = cards
	s.mu.Unlock()
	switch {
	case err != nil:
		s.status.SetText(fmt.Sprintf("Valv cannot reach the card reader: %v", err))
	case len(cards) == 0:
		s.status.SetText("No YubiKey found. Insert a key holder's YubiKey, then choose Look again.")
	case len(cards) == 1:
		s.status.SetText("1 card found.")
	default:
		s.status.SetText(fmt.Sprintf("%d cards found.", len(cards)))
	}
	s.list.Refresh()
}

func (s *cardsScreen) length() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cards)
}

func (s *cardsScreen) newRow() fyne.CanvasObject {
	name := widget.NewLabel("")
	badge := widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	badge.Importance = widget.WarningImportance
	return container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), badge, name)
}

func (s *cardsScreen) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	s.mu.Lock()
	if i >= len(s.cards) {
		s.mu.Unlock()
		return
	}
	c := s.cards[i]
	s.mu.Unlock()
	row := o.(*fyne.Container)
	row.Objects[0].(*widget.Label).SetText(fmt.Sprintf("YubiKey · serial %d · firmware %s", c.Serial, c.Firmware))
	badge := row.Objects[2].(*widget.Label)
	if c.Simulated {
		badge.SetText("SIMULATED")
	} else {
		badge.SetText("")
	}
}
