// Package assets stores players' files (portraits, maps, sheets, exports) in
// a private S3 bucket. The server never proxies the bytes: it hands out a
// short-lived presigned POST form that pins the object key, the content type
// and the exact size, checks the stored object when the client says it is
// done, and hands out short-lived presigned GET URLs for downloads.
//
// An asset is `pending` from the moment its upload form is issued until
// `complete` has verified the object (then `ready`). Rows are marked
// `deleted` before their object is removed, so a crash between the two is
// finished by the next cleanup run instead of leaving an orphaned object.
package assets

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Asset statuses.
const (
	StatusPending = "pending"
	StatusReady   = "ready"
	StatusDeleted = "deleted"
)

// Asset kinds.
const (
	KindPortrait = "portrait"
	KindMap      = "map"
	KindSheet    = "sheet"
	KindExport   = "export"
	// KindCard is a Tavern character card (V2/V3): a PNG with the card in
	// a text chunk, or the card's JSON (docs/CARDS.md).
	KindCard = "card"
)

const mib = 1 << 20

// KindSpec is what may be uploaded as one kind of asset.
type KindSpec struct {
	ContentTypes []string // canonical media types, lower case, no parameters
	MaxSize      int64    // bytes
}

// Image reports whether the kind holds pictures (shown inline, not downloaded
// as attachments).
func (k KindSpec) Image() bool {
	return len(k.ContentTypes) > 0 && strings.HasPrefix(k.ContentTypes[0], "image/")
}

var imageTypes = []string{"image/png", "image/jpeg", "image/webp"}
var documentTypes = []string{"application/json", "application/pdf"}

// Kinds is THE table of what each kind accepts.
var Kinds = map[string]KindSpec{
	KindPortrait: {ContentTypes: imageTypes, MaxSize: 5 * mib},
	KindMap:      {ContentTypes: imageTypes, MaxSize: 10 * mib},
	KindSheet:    {ContentTypes: documentTypes, MaxSize: 2 * mib},
	KindExport:   {ContentTypes: documentTypes, MaxSize: 20 * mib},
	// JSON first: a card is a file to download, not a picture to show.
	KindCard: {ContentTypes: []string{"application/json", "image/png"}, MaxSize: 8 * mib},
}

// KindNames lists the kinds in a stable order (for messages).
func KindNames() []string {
	names := make([]string, 0, len(Kinds))
	for k := range Kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Asset is one stored (or awaited) file of a player.
type Asset struct {
	ID          uuid.UUID `json:"id"`
	OwnerID     uuid.UUID `json:"-"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	// Filename is the client's name for the file: metadata only, never
	// part of the object key.
	Filename *string `json:"filename"`
	// SHA256 is the lowercase hex SHA-256 of the object, computed by the
	// server when the upload was completed.
	SHA256      *string    `json:"sha256,omitempty"`
	ETag        *string    `json:"etag,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`

	// DownloadURL is a short-lived presigned GET of a ready asset.
	DownloadURL       *string    `json:"download_url,omitempty"`
	DownloadExpiresAt *time.Time `json:"download_expires_at,omitempty"`

	Bucket          string     `json:"-"`
	Key             string     `json:"-"`
	UploadExpiresAt *time.Time `json:"-"`
}

// Key prefixes: upload forms write under UploadPrefix only; a completed
// asset's verified bytes are copied under ReadyPrefix, which no form can
// write, and served from there.
const (
	UploadPrefix = "uploads/"
	ReadyPrefix  = "players/"
)

// ObjectKey is where a ready asset's object lives: under the player's
// prefix, named by the server only.
func ObjectKey(ownerID uuid.UUID, kind string, id uuid.UUID) string {
	return fmt.Sprintf(ReadyPrefix+"%s/%s/%s", ownerID, kind, id)
}

// UploadKey is the one key an asset's upload form may write.
func UploadKey(ownerID uuid.UUID, kind string, id uuid.UUID) string {
	return fmt.Sprintf(UploadPrefix+"%s/%s/%s", ownerID, kind, id)
}

// PlayerPrefix is the key prefix of every object of a player.
func PlayerPrefix(ownerID uuid.UUID) string {
	return fmt.Sprintf("players/%s/", ownerID)
}

// CreateInput asks for an upload form.
type CreateInput struct {
	Kind        string  `json:"kind"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	Filename    *string `json:"filename"`
}

// Upload is the answer to CreateInput: the pending asset and the form that
// uploads its bytes straight to storage.
type Upload struct {
	Asset     Asset     `json:"asset"`
	Form      Form      `json:"upload"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Form is a presigned S3 POST: send every field, then the file as the
// last part named "file", as multipart/form-data to URL.
type Form struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}
