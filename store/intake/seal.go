package intake

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
)

// Seal writes an intake file to w: the envelope, then an age file to the
// recipients whose plaintext is the sealed header h and the content. It
// streams: memory does not grow with the content. content must yield
// exactly h.Size bytes (a file that changes while it is sealed is an
// error). w must be positioned at its start; Seal writes the envelope's
// length field last, by seeking back to it, and leaves w at the end.
// progress, if not nil, is called with the bytes of content sealed so
// far.
func Seal(w io.WriteSeeker, to []*age.X25519Recipient, h *Header, content io.Reader, progress func(done int64)) error {
	if len(to) == 0 || len(to) > MaxRecipients {
		return fmt.Errorf("intake: seal to 1 to %d recipients", MaxRecipients)
	}
	if err := h.Check(); err != nil {
		return err
	}
	env := AppendEnvelope(nil, to, -1)
	if _, err := w.Write(env); err != nil {
		return err
	}
	rs := make([]age.Recipient, len(to))
	for i, r := range to {
		rs[i] = r
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	enc, err := age.Encrypt(bw, rs...)
	if err != nil {
		return err
	}
	if _, err := enc.Write(AppendHeader(nil, h)); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	var done int64
	for {
		n, rerr := content.Read(buf)
		if n > 0 {
			if done += int64(n); done > h.Size {
				return errors.New("intake: the file grew while it was sealed; seal it again")
			}
			if _, err := enc.Write(buf[:n]); err != nil {
				return err
			}
			if progress != nil {
				progress(done)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("intake: reading the file: %w", rerr)
		}
	}
	if done != h.Size {
		return errors.New("intake: the file shrank while it was sealed; seal it again")
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// Fill in the length: the placeholder is the 20 digits before the
	// envelope's last two newlines.
	if _, err := w.Seek(int64(len(env)-2-lengthDigits), io.SeekStart); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%0*d", lengthDigits, cw.n); err != nil {
		return err
	}
	_, err = w.Seek(0, io.SeekEnd)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// SealFile seals the regular file at path into a new intake file in the
// folder out and returns its path. The name is random (32 hex digits and
// Ext): it never reveals the original name, which is sealed inside. The
// file is written with mode 0600 under a temporary name, synced, and
// renamed into place without replacing anything; the folder is synced.
// The media type is guessed from the name and the first bytes
// (MediaType). now is the time sealed.
func SealFile(out string, to []*age.X25519Recipient, path string, now time.Time, progress func(done int64)) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("intake: %s is not a regular file", path)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	name := SafeName(filepath.Base(path))
	h := &Header{Name: name, MediaType: MediaType(name, head[:n]), Size: st.Size(), Sealed: now.UTC()}

	tmp, err := os.CreateTemp(out, ".valvin-*.tmp")
	if err != nil {
		return "", fmt.Errorf("intake: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return "", err
	}
	if err := Seal(tmp, to, h, f, progress); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	for {
		var id [16]byte
		rand.Read(id[:])
		dst := filepath.Join(out, hex.EncodeToString(id[:])+Ext)
		err := renameNoReplace(tmp.Name(), dst)
		if errors.Is(err, os.ErrExist) {
			continue // 128 random bits: never, in practice
		}
		if err != nil {
			return "", err
		}
		return dst, syncDir(out)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// linkRename renames without replacing where renameat2 is missing: a
// hard link fails if newpath exists. (Where links are not supported
// either, it checks and renames; the name is random, so nothing races
// for it.)
func linkRename(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	if err == nil {
		return os.Remove(oldpath)
	}
	if errors.Is(err, os.ErrExist) {
		return err
	}
	if _, err := os.Lstat(newpath); err == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: os.ErrExist}
	}
	return os.Rename(oldpath, newpath)
}
