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

// cardsScreen lists the key holders' cards present, by serial, with
// simulated cards marked. It is the top of the unlock screen: the card
// chosen in it is the one the PIN goes to.
type cardsScreen struct {
	svc     Service
	content fyne.CanvasObject
	status  *widget.Label
	list    *widget.List
	refresh func()
	// onChosen is called with the card chosen (the only one, or the one
	// tapped), or nil when there is none.
	onChosen func(*Card)

	mu    sync.Mutex
	cards []Card
}

func newCardsScreen(svc Service) *cardsScreen {
	s := &cardsScreen{svc: svc}
	title := widget.NewLabelWithStyle(T("cards.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.status = widget.NewLabel(T("cards.looking"))
	s.status.Wrapping = fyne.TextWrapWord
	s.list = widget.NewList(s.length, s.newRow, s.updateRow)
	s.list.OnSelected = func(i widget.ListItemID) {
		s.mu.Lock()
		var c *Card
		if i < len(s.cards) {
			cc := s.cards[i]
			c = &cc
		}
		s.mu.Unlock()
		if s.onChosen != nil {
			s.onChosen(c)
		}
	}
	button := widget.NewButtonWithIcon(T("cards.again"), theme.ViewRefreshIcon(), nil)
	s.refresh = func() {
		button.Disable()
		s.status.SetText(T("cards.looking"))
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
		s.status.SetText(explainCards(err))
	case len(cards) == 0:
		s.status.SetText(T("cards.none"))
	case len(cards) == 1:
		s.status.SetText(T("cards.one"))
	default:
		s.status.SetText(T("cards.many", arg(len(cards))))
	}
	s.list.UnselectAll()
	s.list.Refresh()
	if len(cards) > 0 {
		s.list.Select(0)
	} else if s.onChosen != nil {
		s.onChosen(nil)
	}
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
	row.Objects[0].(*widget.Label).SetText(T("cards.row", map[string]any{"Serial": fmt.Sprint(c.Serial), "Firmware": c.Firmware}))
	badge := row.Objects[2].(*widget.Label)
	if c.Simulated {
		badge.SetText(T("cards.simulated"))
	} else {
		badge.SetText("")
	}
}
