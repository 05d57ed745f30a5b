//go:build !linux

package intake

func renameNoReplace(oldpath, newpath string) error {
	return linkRename(oldpath, newpath)
}
