package yubisim

import "bytes"

// Data objects with a special meaning here. Certificates live in 5FC105
// (9A), 5FC10A (9C), 5FC10B (9D), 5FC101 (9E) and 5FC10D–5FC120 (82–95),
// like any other object.
const (
	objDiscovery   = 0x7e
	objCHUID       = 0x5fc102
	objCCC         = 0x5fc107
	objPrinted     = 0x5fc109 // readable only with the PIN verified
	objKeyHistory  = 0x5fc10c
	objAttestation = 0x5fff01 // certificate of the attestation key F9

	// maxObjectSize is the largest object a YubiKey 5 stores, in bytes.
	maxObjectSize = 3052
)

// discovery is the Discovery Object (7E): the PIV AID and a PIN usage
// policy of "PIV PIN only". It is fixed and cannot be written.
var discovery = []byte{
	0x7e, 0x12,
	0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
	0x5f, 0x2f, 0x02, 0x40, 0x00,
}

// defaultObjects are the objects of a fresh card: a CHUID and CCC with
// random identifiers (in the layout yubico-piv-tool writes) and an empty
// Key History. A real YubiKey leaves CHUID and CCC empty until a tool
// writes them; the simulator fills them in so that ykman and OpenSC have
// something to show.
func defaultObjects() map[uint32][]byte {
	// FASC-N of the form yubico-piv-tool uses, agency code 9999.
	fascn := []byte{
		0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83, 0x68,
		0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3, 0xeb,
	}
	chuid := concat(
		encodeTLV(0x30, fascn),
		encodeTLV(0x34, randomBytes(16)), // GUID
		encodeTLV(0x35, []byte("20300101")),
		encodeTLV(0x3e, nil), // no issuer signature
		encodeTLV(0xfe, nil),
	)
	ccc := concat(
		encodeTLV(0xf0, concat([]byte{0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02}, randomBytes(14))),
		encodeTLV(0xf1, []byte{0x21}),
		encodeTLV(0xf2, []byte{0x21}),
		encodeTLV(0xf3, nil),
		encodeTLV(0xf4, []byte{0x00}),
		encodeTLV(0xf5, []byte{0x10}),
		[]byte{0xf6, 0x00, 0xf7, 0x00, 0xfa, 0x00, 0xfb, 0x00, 0xfc, 0x00, 0xfd, 0x00, 0xfe, 0x00},
	)
	keyHistory := []byte{0xc1, 0x01, 0x00, 0xc2, 0x01, 0x00, 0xf3, 0x00, 0xfe, 0x00}
	return map[uint32][]byte{
		objCHUID:      encodeTLV(0x53, chuid),
		objCCC:        encodeTLV(0x53, ccc),
		objKeyHistory: encodeTLV(0x53, keyHistory),
	}
}

// objectID reads the tag list 5C {1 to 3 bytes} of GET DATA and PUT DATA.
func objectID(t tlv) (uint32, bool) {
	if t.tag != 0x5c || len(t.value) == 0 || len(t.value) > 3 {
		return 0, false
	}
	var id uint32
	for _, b := range t.value {
		id = id<<8 | uint32(b)
	}
	return id, true
}

// getData is GET DATA (INS CB, P1 P2 3FFF) with 5C tag list. It answers the
// stored 53 object, or 6A82.
func (c *Card) getData(cmd command) ([]byte, uint16) {
	if cmd.p1 != 0x3f || cmd.p2 != 0xff {
		return nil, swWrongP1P2
	}
	elems, err := parseTLVs(cmd.data)
	if err != nil || len(elems) != 1 {
		return nil, swWrongData
	}
	id, ok := objectID(elems[0])
	if !ok {
		return nil, swWrongData
	}
	if id == objDiscovery {
		return bytes.Clone(discovery), swOK
	}
	if id == objPrinted && !c.sess.pinVerified {
		return nil, swSecurityStatus
	}
	v, ok := c.st.objects[id]
	if !ok {
		return nil, swFileNotFound
	}
	return bytes.Clone(v), swOK
}

// putData is PUT DATA (INS DB, P1 P2 3FFF): 5C {object ID} 53 {value}. It
// needs the management key. An empty value deletes the object. Any
// three-byte ID starting with 5F is accepted.
func (c *Card) putData(cmd command) uint16 {
	if cmd.p1 != 0x3f || cmd.p2 != 0xff {
		return swWrongP1P2
	}
	if !c.sess.mgmtAuthed {
		return swSecurityStatus
	}
	elems, err := parseTLVs(cmd.data)
	if err != nil || len(elems) != 2 || elems[1].tag != 0x53 {
		return swWrongData
	}
	id, ok := objectID(elems[0])
	if !ok || len(elems[0].value) != 3 || id>>16 != 0x5f {
		return swWrongData
	}
	obj := encodeTLV(0x53, elems[1].value)
	if len(obj) > maxObjectSize {
		return swNotEnoughMemory
	}
	if len(elems[1].value) == 0 {
		delete(c.st.objects, id)
	} else {
		c.st.objects[id] = obj
	}
	c.changed()
	return swOK
}
