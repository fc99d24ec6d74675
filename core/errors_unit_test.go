package core

import (
	"errors"
	"fmt"
	"testing"
)

func TestAdviceOfFindsTheAdviceUnderWrapping(t *testing.T) {
	const giveKey Action = "give-key"
	inner := Advise(Advice{Action: giveKey, Recipient: "age1xyz"}, ErrInvalid, "backup %d is encrypted for %s", 7, "age1xyz")
	err := fmt.Errorf("restore: %w", Userf(inner, "the restore did not start"))
	a, ok := AdviceOf(err)
	if !ok || a.Action != giveKey || a.Recipient != "age1xyz" {
		t.Fatalf("AdviceOf = %+v, %v; want the give-key advice for age1xyz", a, ok)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("the class must stay reachable: %v", err)
	}
	if _, ok := AdviceOf(Userf(ErrNotFound, "no such backup")); ok {
		t.Fatal("an error without advice must report none")
	}
	if _, ok := AdviceOf(nil); ok {
		t.Fatal("nil has no advice")
	}
}
