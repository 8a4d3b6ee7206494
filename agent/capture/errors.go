package capture

import "errors"

// Errors a live Source returns from Next for control flow. Test with
// errors.Is; sources wrap them with their own context.
var (
	// ErrTimeout means no frame arrived within the source's poll timeout. f
	// is left untouched; the caller heartbeats, checks for cancellation and
	// calls Next again. Live sources return it at least once per poll
	// timeout while idle, so Next never blocks indefinitely.
	ErrTimeout = errors.New("no frame before timeout")

	// ErrInterfaceDown means the capture interface went down. The source is
	// still usable: frames flow again once the interface comes back up.
	ErrInterfaceDown = errors.New("capture interface is down")

	// ErrInterfaceGone means the capture interface was deleted. The source
	// will never deliver another frame; every later Next returns it too.
	ErrInterfaceGone = errors.New("capture interface was removed")
)
