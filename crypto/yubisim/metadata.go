package yubisim

import "bytes"

// metadata is Yubico's GET METADATA (INS F7, P2 slot, firmware 5.3+):
//
//   - PIN (80) and PUK (81): 01 alg FF, 05 default?, 06 total ‖ remaining;
//   - management key (9B): 01 alg, 02 00 ‖ touch, 05 default?;
//   - key slots and F9: 01 alg, 02 pin ‖ touch, 03 origin, 04 public key.
//
// Empty slots and unknown references (such as the Bio reference 96)
// answer 6A88, which ykman reads as "not supported".
func (c *Card) metadata(cmd command) ([]byte, uint16) {
	if cmd.p1 != 0 {
		return nil, swWrongP1P2
	}
	switch cmd.p2 {
	case refPIN:
		return secretMetadata(bytes.Equal(c.st.pin, defaultPIN), c.st.pinTotal, c.st.pinLeft), swOK
	case refPUK:
		return secretMetadata(bytes.Equal(c.st.puk, defaultPUK), c.st.pukTotal, c.st.pukLeft), swOK
	case slotCardManagement:
		return concat(
			[]byte{0x01, 0x01, c.st.mgmtAlg},
			[]byte{0x02, 0x02, 0x00, c.st.mgmtTouch},
			[]byte{0x05, 0x01, boolByte(bytes.Equal(c.st.mgmtKey, defaultMgmtKey))},
		), swOK
	}
	k := c.st.keys[cmd.p2]
	if k == nil || !isKeySlot(cmd.p2) && cmd.p2 != slotAttestation {
		return nil, swReferenceNotFound
	}
	return concat(
		[]byte{0x01, 0x01, k.alg},
		[]byte{0x02, 0x02, k.pinPolicy, k.touchPolicy},
		[]byte{0x03, 0x01, k.origin},
		encodeTLV(0x04, publicKeyTLVs(k.priv)),
	), swOK
}

func secretMetadata(isDefault bool, total, left int) []byte {
	return []byte{
		0x01, 0x01, 0xff,
		0x05, 0x01, boolByte(isDefault),
		0x06, 0x02, byte(total), byte(left),
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
