//go:build !windows

package service

import "errors"

func connectSCM() (WindowsManager, error) {
	return nil, errors.New("the Windows service manager exists only on Windows")
}
