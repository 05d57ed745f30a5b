//go:build !linux

package recovery

func renameNoReplace(oldpath, newpath string) error {
	return linkRename(oldpath, newpath)
}
