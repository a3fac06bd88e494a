package arm

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Azure's limits on resource tags, the same for every resource type that
// Resource Manager stores tags for.
const (
	MaxTags        = 50
	MaxTagNameLen  = 512
	MaxTagValueLen = 256
)

// maxEcho is the most characters of a client's value an error message
// repeats back.
const maxEcho = 64

// Clip returns s for quoting in an error message: at most 64 characters,
// with an ellipsis and the full length when it was cut, so an error never
// echoes unbounded input back to its sender.
func Clip(s string) string {
	if utf8.RuneCountInString(s) <= maxEcho {
		return s
	}
	n, i := 0, 0
	for i = range s {
		if n == maxEcho {
			break
		}
		n++
	}
	return s[:i] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// ValidateTags applies Azure's limits on tags: at most 50, names of 1 to
// 512 characters without < > % & \ ? /, values of at most 256 characters,
// names unique regardless of case.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return BadRequest("InvalidTagCount",
			"The resource has %d tags; at most %d tags are allowed.", len(tags), MaxTags)
	}
	seen := make(map[string]string, len(tags))
	for name, value := range tags {
		switch {
		case name == "" || utf8.RuneCountInString(name) > MaxTagNameLen:
			return BadRequest("InvalidTagNameLength",
				"The tag name '%s' must be 1 to %d characters long.", Clip(name), MaxTagNameLen)
		case strings.ContainsAny(name, `<>%&\?/`):
			return BadRequest("InvalidTagNameCharacters",
				"The tag name '%s' has invalid characters: tag names cannot contain '<', '>', '%%', '&', '\\', '?' or '/'.", Clip(name))
		case utf8.RuneCountInString(value) > MaxTagValueLen:
			return BadRequest("InvalidTagValueLength",
				"The value of tag '%s' is longer than %d characters.", Clip(name), MaxTagValueLen)
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			return BadRequest("InvalidTagName",
				"The tag names '%s' and '%s' differ only in case; tag names are case-insensitive.", Clip(other), Clip(name))
		}
		seen[strings.ToLower(name)] = name
	}
	return nil
}

// Tags reads and validates the optional "tags" member of a request body.
// ok reports whether the member was present.
func (o Object) Tags() (tags map[string]string, ok bool, err error) {
	tags, ok, err = o.StringMap("tags")
	if err != nil {
		return nil, false, BadRequest("InvalidRequestContent", "%v", err)
	}
	if err := ValidateTags(tags); err != nil {
		return nil, false, err
	}
	return tags, ok, nil
}
