package handler

import "testing"

type named struct{ Handler }

func TestSet(t *testing.T) {
	var s Set
	if len(s.Load()) != 0 {
		t.Fatal("zero Set not empty")
	}
	a, b := &named{}, &named{}
	s.Attach(a)
	s.Attach(b)
	before := s.Load()
	s.Detach(a)
	if got := s.Load(); len(got) != 1 || got[0] != b {
		t.Fatalf("after detach: %v", got)
	}
	if len(before) != 2 || before[0] != a {
		t.Fatal("a slice already handed out changed under its reader")
	}
}
