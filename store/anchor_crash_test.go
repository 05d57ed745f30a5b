package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// The anchor crash test's child: the test binary re-executed with
// anchorCrashChildEnv set to the vault folder and _OP to the write to do
// with the recovery key: "create" (CreateCompartment: new file, then the
// directory's entry and anchor statement), "revoke" (Revoke: a statement
// naming the next key, the new file, the rename, the statement naming
// it) or "deactivate" (an admin's staff member: the directory key
// rotated, then every compartment granted to them revoked). arg.txt next
// to the folder gives the compartment and holder, or the staff id. It
// prints UNLOCKED, "P" lines as Revoke copies, the swapHook steps, and
// DONE, until the parent kills it.
const anchorCrashChildEnv = "VALV_ANCHOR_CRASH_CHILD"

func TestAnchorCrashChild(t *testing.T) {
	dir := os.Getenv(anchorCrashChildEnv)
	if dir == "" {
		t.Skip("the child of TestAnchorCrash")
	}
	swapHook = func(step string) {
		fmt.Println(step)
		if os.Getenv(anchorCrashChildEnv+"_STOP") == step {
			time.Sleep(time.Minute) // to be killed here
		}
	}
	key, err := os.ReadFile(filepath.Join(dir, "..", "recovery.txt"))
	mustNoErr(t, err)
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(key)))
	mustNoErr(t, err)
	arg, err := os.ReadFile(filepath.Join(dir, "..", "arg.txt"))
	mustNoErr(t, err)
	v, err := Open(dir)
	mustNoErr(t, err)
	s, err := v.Unlock(id, nil)
	mustNoErr(t, err)
	fmt.Println("UNLOCKED")
	progress := func(done, total int) { fmt.Printf("P %d %d\n", done, total) }
	switch op := os.Getenv(anchorCrashChildEnv + "_OP"); op {
	case "create":
		_, err = s.CreateCompartment("Ny")
	case "revoke":
		parts := strings.Fields(string(arg))
		cid, _ := ParseID(parts[0])
		hid, _ := ParseID(parts[1])
		err = s.Revoke(cid, hid, progress)
	case "deactivate":
		sid, _ := ParseID(strings.TrimSpace(string(arg)))
		err = s.Deactivate(sid, progress)
	default:
		t.Fatalf("op %q", op)
	}
	mustNoErr(t, err)
	fmt.Println("DONE")
	mustNoErr(t, s.Lock())
	mustNoErr(t, v.Close())
}

// TestAnchorCrash kills (SIGKILL) a process in the middle of each write
// of the directory anchor: creating a compartment, revoking a holder
// (between its two statements: during the copy, right after the rename)
// and deactivating an admin (directory key rotation, then revocations),
// at the rename or at a random time. After every kill the vault must open
// for the admin's card and the recovery key with no compartment reported
// as a problem (the anchor vouches for whichever file is in place), the
// audit logs must verify, and the operation must be whole or not done.
func TestAnchorCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const killsPerOp = 8
	tv := newTestVault(t)
	dir := tv.dir
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "recovery.txt"), []byte(tv.recovery.String()+"\n"), 0o600))
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	_, err = s.AddCustomers(cid, benchCustomers(3000))
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	mustNoErr(t, tv.v.Close())

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	var points []string
	done := map[string]int{}
	for _, op := range []string{"create", "revoke", "deactivate"} {
		for i := range killsPerOp {
			// Set up what the child does.
			v, err := Open(dir)
			mustNoErr(t, err)
			a, err := v.Unlock(tv.admin.identity, tv.admin.signer)
			mustNoErr(t, err)
			arg := ""
			switch op {
			case "revoke":
				if gs, err := a.Grants(cid); err == nil && !containsID(gs, hid) {
					mustNoErr(t, a.Grant(cid, hid))
				}
				arg = cid.String() + " " + hid.String()
			case "deactivate":
				adm := newTestHolder(t, fmt.Sprintf("Admin %d", i), RoleAdmin)
				aid, err := a.Enrol(adm.info)
				mustNoErr(t, err)
				mustNoErr(t, a.Grant(cid, aid))
				arg = staffOf(t, a, aid).String()
			}
			mustNoErr(t, a.Lock())
			mustNoErr(t, v.Close())
			mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "arg.txt"), []byte(arg), 0o600))

			cmd := exec.Command(os.Args[0], "-test.run=^TestAnchorCrashChild$", "-test.count=1")
			stop := ""
			if i%3 == 0 && op != "deactivate" {
				stop = "renamed"
			}
			cmd.Env = append(os.Environ(), anchorCrashChildEnv+"="+dir, anchorCrashChildEnv+"_OP="+op, anchorCrashChildEnv+"_STOP="+stop)
			out, err := cmd.StdoutPipe()
			mustNoErr(t, err)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			mustNoErr(t, cmd.Start())
			sc := bufio.NewScanner(out)
			point := ""
			switch {
			case stop != "":
				for sc.Scan() && sc.Text() != stop {
				}
				point = op + "@" + stop
			case i%3 == 1 && op != "create":
				for sc.Scan() && !strings.HasPrefix(sc.Text(), "P ") {
				}
				point = op + "@copy"
			default:
				for sc.Scan() && sc.Text() != "UNLOCKED" {
				}
				d := time.Duration(rng.IntN(60)) * time.Millisecond
				time.Sleep(d)
				point = op + "@" + d.String()
			}
			cmd.Process.Kill()
			finished := scanFor(out, "DONE")
			if err := cmd.Wait(); err != nil && !strings.Contains(err.Error(), "killed") {
				t.Fatalf("%s: child: %v\n%s", point, err, stderr.Bytes())
			}
			if finished {
				done[op]++
				point += "(done)"
			}
			points = append(points, point)

			// The vault opens for the admin's card and the recovery key,
			// every compartment vouched for, the logs verify.
			v, err = Open(dir)
			mustNoErr(t, err)
			for _, who := range []string{"admin", "recovery"} {
				var s *Session
				if who == "admin" {
					s, err = v.Unlock(tv.admin.identity, tv.admin.signer)
				} else {
					s, err = v.Unlock(tv.recovery, nil)
				}
				if err != nil {
					t.Fatalf("%s: %s unlock: %v", point, who, err)
				}
				cs, err := s.Compartments()
				mustNoErr(t, err)
				for _, c := range cs {
					if c.Problem != "" {
						t.Fatalf("%s: %s: compartment %s: %s", point, who, c.ID, c.Problem)
					}
				}
				if _, err := s.VerifyAudit(); err != nil {
					t.Fatalf("%s: %s: audit: %v", point, who, err)
				}
				if _, total, err := s.ListCustomers(cid, 0, 0); err != nil || total != 3000 {
					t.Fatalf("%s: %s: compartment A: %d customers, %v", point, who, total, err)
				}
				mustNoErr(t, s.Lock())
			}
			mustNoErr(t, v.Close())
		}
	}
	t.Logf("kills at %s", strings.Join(points, " "))
}

func containsID(ids []ID, id ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
