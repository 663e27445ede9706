-- Wireshark dissector for SSTP, the link-state protocol between Satellite
-- switches (EtherType 0x88B5 to 01-80-C2-00-00-0E). The wire format is
-- docs/sstp.md, "Wire format"; protocol/src/wire/sstp.rs is the reference
-- implementation, and protocol/tests/sstp_dissector.rs checks this file
-- against it field by field.
--
-- Use:  tshark -X lua_script:contrib/wireshark/sstp.lua -r capture.pcap
--   or  copy this file into ~/.local/lib/wireshark/plugins/
--
-- The display filter prefix is "satsstp", not "sstp": Wireshark already
-- has a protocol with the filter name "sstp" (Microsoft's Secure Socket
-- Tunneling Protocol), and two protocols cannot share one.
--
-- Both CRC-32s are verified here with an implementation of our own, so a
-- capture shows a bad checksum as an expert error, as the switch counts it
-- (satellite_sstp_rx_dropped_total{reason="bad_checksum"}).

local p = Proto("satsstp", "Satellite SSTP (link state)")

local SSTP_ETHERTYPE = 0x88B5
local HEADER_LEN = 16
local MAX_PDU_LEN = 1500

local pdu_types = {
    [1] = "HELLO",
    [2] = "LSP",
    [3] = "CSNP",
    [4] = "PSNP",
    [5] = "FAIL",
}

local tlv_types = {
    [0x0002] = "HOSTNAME",
    [0x0003] = "BRIDGE_ID",
    [0x0004] = "ADJACENCIES",
    [0x0005] = "MAC_HOMES",
    [0x0006] = "IPV4_BINDINGS",
    [0x0007] = "LSP_ENTRIES",
    [0x0008] = "MAC_MOVES",
    [0x0009] = "LSP_SEQUENCE",
    [0x8001] = "SYSTEM",
}

local fail_reasons = {
    [1] = "carrier lost",
    [2] = "dead timer",
    [3] = "administratively down",
}

-- Fixed-part length of each PDU type, after the common header.
local fixed_len = { [1] = 32, [2] = 24, [3] = 16, [4] = 0, [5] = 22 }

local f = {
    -- Common header.
    version = ProtoField.uint8("satsstp.version", "Version", base.DEC),
    type = ProtoField.uint8("satsstp.type", "PDU type", base.DEC, pdu_types),
    length = ProtoField.uint16("satsstp.length", "PDU length", base.DEC),
    checksum = ProtoField.uint32("satsstp.checksum", "PDU checksum", base.HEX),
    checksum_status = ProtoField.string("satsstp.checksum.status", "PDU checksum status"),
    sender = ProtoField.ether("satsstp.sender", "Sender"),
    sender_port = ProtoField.uint16("satsstp.sender_port", "Sender port", base.DEC),
    -- HELLO.
    hello_nonce = ProtoField.uint64("satsstp.hello.nonce", "Session nonce", base.HEX),
    hello_interval = ProtoField.uint32("satsstp.hello.interval", "Hello interval (us)", base.DEC),
    hello_dead_count = ProtoField.uint8("satsstp.hello.dead_count", "Dead count", base.DEC),
    hello_flags = ProtoField.uint8("satsstp.hello.flags", "Flags", base.HEX),
    hello_reserved = ProtoField.uint16("satsstp.hello.reserved", "Reserved", base.HEX),
    hello_neighbour = ProtoField.ether("satsstp.hello.neighbour", "Neighbour"),
    hello_neighbour_port = ProtoField.uint16("satsstp.hello.neighbour_port", "Neighbour port", base.DEC),
    hello_neighbour_nonce = ProtoField.uint64("satsstp.hello.neighbour_nonce", "Neighbour nonce", base.HEX),
    -- LSP.
    lsp_origin = ProtoField.ether("satsstp.lsp.origin", "Origin"),
    lsp_fragment = ProtoField.uint16("satsstp.lsp.fragment", "Fragment", base.DEC),
    lsp_sequence = ProtoField.uint64("satsstp.lsp.sequence", "Sequence number", base.DEC),
    lsp_lifetime = ProtoField.uint16("satsstp.lsp.lifetime", "Remaining lifetime (s)", base.DEC),
    lsp_checksum = ProtoField.uint32("satsstp.lsp.checksum", "Content checksum", base.HEX),
    lsp_checksum_status = ProtoField.string("satsstp.lsp.checksum.status", "Content checksum status"),
    lsp_flags = ProtoField.uint8("satsstp.lsp.flags", "Flags", base.HEX),
    lsp_overload = ProtoField.bool("satsstp.lsp.flags.overload", "Overload", 8, nil, 0x01),
    lsp_reserved = ProtoField.uint8("satsstp.lsp.reserved", "Reserved", base.HEX),
    -- CSNP.
    csnp_start_origin = ProtoField.ether("satsstp.csnp.start.origin", "Start origin"),
    csnp_start_fragment = ProtoField.uint16("satsstp.csnp.start.fragment", "Start fragment", base.DEC),
    csnp_end_origin = ProtoField.ether("satsstp.csnp.end.origin", "End origin"),
    csnp_end_fragment = ProtoField.uint16("satsstp.csnp.end.fragment", "End fragment", base.DEC),
    -- FAIL.
    fail_origin = ProtoField.ether("satsstp.fail.origin", "Origin"),
    fail_sequence = ProtoField.uint32("satsstp.fail.sequence", "Fail sequence", base.DEC),
    fail_neighbour = ProtoField.ether("satsstp.fail.neighbour", "Neighbour"),
    fail_local_port = ProtoField.uint16("satsstp.fail.local_port", "Local port", base.DEC),
    fail_remote_port = ProtoField.uint16("satsstp.fail.remote_port", "Remote port", base.DEC),
    fail_reason = ProtoField.uint8("satsstp.fail.reason", "Reason", base.DEC, fail_reasons),
    fail_hop_limit = ProtoField.uint8("satsstp.fail.hop_limit", "Hop limit", base.DEC),
    -- TLVs.
    tlv_type = ProtoField.uint16("satsstp.tlv.type", "TLV type", base.HEX, tlv_types),
    tlv_mandatory = ProtoField.bool("satsstp.tlv.mandatory", "Mandatory", 16, nil, 0x8000),
    tlv_length = ProtoField.uint16("satsstp.tlv.length", "TLV length", base.DEC),
    tlv_value = ProtoField.bytes("satsstp.tlv.value", "Value"),
    hostname = ProtoField.string("satsstp.hostname", "Hostname"),
    bridge_priority = ProtoField.uint16("satsstp.bridge_id.priority", "Bridge priority", base.HEX),
    bridge_mac = ProtoField.ether("satsstp.bridge_id.mac", "Bridge address"),
    system_flags = ProtoField.uint8("satsstp.system.flags", "System flags", base.HEX),
    system_reserved = ProtoField.uint8("satsstp.system.reserved", "Reserved", base.HEX),
    adj_neighbour = ProtoField.ether("satsstp.adj.neighbour", "Neighbour"),
    adj_local_port = ProtoField.uint16("satsstp.adj.local_port", "Local port", base.DEC),
    adj_remote_port = ProtoField.uint16("satsstp.adj.remote_port", "Remote port", base.DEC),
    adj_cost = ProtoField.uint32("satsstp.adj.cost", "Cost", base.DEC),
    mac_home_vid = ProtoField.uint16("satsstp.mac_home.vid", "VID", base.DEC),
    mac_home_mac = ProtoField.ether("satsstp.mac_home.mac", "MAC"),
    mac_move_vid = ProtoField.uint16("satsstp.mac_move.vid", "VID", base.DEC),
    mac_move_mac = ProtoField.ether("satsstp.mac_move.mac", "MAC"),
    mac_move_sequence = ProtoField.uint32("satsstp.mac_move.sequence", "Move sequence", base.DEC),
    fail_lsp_sequence = ProtoField.uint64("satsstp.fail.lsp_sequence", "Origin's fragment-0 sequence", base.DEC),
    binding_vid = ProtoField.uint16("satsstp.binding.vid", "VID", base.DEC),
    binding_ip = ProtoField.ipv4("satsstp.binding.ip", "IPv4 address"),
    binding_mac = ProtoField.ether("satsstp.binding.mac", "MAC"),
    entry_origin = ProtoField.ether("satsstp.entry.origin", "Origin"),
    entry_fragment = ProtoField.uint16("satsstp.entry.fragment", "Fragment", base.DEC),
    entry_sequence = ProtoField.uint64("satsstp.entry.sequence", "Sequence number", base.DEC),
    entry_lifetime = ProtoField.uint16("satsstp.entry.lifetime", "Remaining lifetime (s)", base.DEC),
    entry_checksum = ProtoField.uint32("satsstp.entry.checksum", "Content checksum", base.HEX),
    padding = ProtoField.bytes("satsstp.padding", "Padding after the PDU (ignored)"),
}
local fields = {}
for _, v in pairs(f) do
    table.insert(fields, v)
end
p.fields = fields

local e = {
    bad_checksum = ProtoExpert.new("satsstp.checksum.bad", "Bad PDU checksum",
        expert.group.CHECKSUM, expert.severity.ERROR),
    bad_lsp_checksum = ProtoExpert.new("satsstp.lsp.checksum.bad", "Bad LSP content checksum",
        expert.group.CHECKSUM, expert.severity.ERROR),
    bad_version = ProtoExpert.new("satsstp.version.unknown", "Unknown SSTP version",
        expert.group.PROTOCOL, expert.severity.ERROR),
    bad_length = ProtoExpert.new("satsstp.length.bad", "Bad PDU length",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_type = ProtoExpert.new("satsstp.type.unknown", "Unknown PDU type",
        expert.group.PROTOCOL, expert.severity.ERROR),
    bad_tlv_length = ProtoExpert.new("satsstp.tlv.length.bad", "Bad TLV length",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown_mandatory = ProtoExpert.new("satsstp.tlv.unknown_mandatory",
        "Unknown mandatory TLV: a receiver drops this PDU",
        expert.group.PROTOCOL, expert.severity.ERROR),
    unknown_tlv = ProtoExpert.new("satsstp.tlv.unknown", "Unknown optional TLV (skipped)",
        expert.group.UNDECODED, expert.severity.NOTE),
}
p.experts = { e.bad_checksum, e.bad_lsp_checksum, e.bad_version, e.bad_length, e.bad_type,
    e.bad_tlv_length, e.unknown_mandatory, e.unknown_tlv }

-- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table-driven.
local crc_table = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if bit32.band(c, 1) ~= 0 then
            c = bit32.bxor(bit32.rshift(c, 1), 0xEDB88320)
        else
            c = bit32.rshift(c, 1)
        end
    end
    crc_table[i] = c
end

-- CRC-32 of the octets of `ba` (a ByteArray), with the octets in
-- [zero_from, zero_to) taken as zero (0-based, as ByteArray indexes).
local function crc32(ba, zero_from, zero_to)
    local crc = 0xFFFFFFFF
    for i = 0, ba:len() - 1 do
        local b = ba:get_index(i)
        if i >= zero_from and i < zero_to then
            b = 0
        end
        crc = bit32.bxor(crc_table[bit32.band(bit32.bxor(crc, b), 0xFF)], bit32.rshift(crc, 8))
    end
    return bit32.bnot(crc)
end

local function bridge_id_text(tvb, off)
    return string.format("%04x.%s", tvb(off, 2):uint(), tostring(tvb(off + 2, 6):ether()))
end

local function add_bridge_id(tree, tvb, off, label)
    local t = tree:add(tvb(off, 8), label .. ": " .. bridge_id_text(tvb, off))
    t:add(f.bridge_priority, tvb(off, 2))
    t:add(f.bridge_mac, tvb(off + 2, 6))
end

-- Adds the entries of a list TLV, each `size` octets, by `add_entry`.
local function add_entries(tree, tvb, off, len, size, name, add_entry)
    if len % size ~= 0 then
        tree:add_proto_expert_info(e.bad_tlv_length,
            string.format("%d octets is not a whole number of %d-octet entries", len, size))
        return
    end
    for i = 0, len / size - 1 do
        local o = off + i * size
        local et = tree:add(tvb(o, size), string.format("%s %d", name, i))
        add_entry(et, o)
    end
end

-- The TLVs of the PDU from `off` to `pdu_end`; `known` is the set of types
-- this PDU type carries.
local function dissect_tlvs(tvb, tree, off, pdu_end)
    while off < pdu_end do
        if pdu_end - off < 4 then
            tree:add_proto_expert_info(e.bad_tlv_length, "TLV header runs past the PDU")
            return
        end
        local ttype = tvb(off, 2):uint()
        local tlen = tvb(off + 2, 2):uint()
        local name = tlv_types[ttype] or string.format("unknown 0x%04x", ttype)
        local tt = tree:add(tvb(off, math.min(4 + tlen, pdu_end - off)),
            string.format("TLV %s, length %d", name, tlen))
        tt:add(f.tlv_type, tvb(off, 2))
        tt:add(f.tlv_mandatory, tvb(off, 2))
        tt:add(f.tlv_length, tvb(off + 2, 2))
        if off + 4 + tlen > pdu_end then
            tt:add_proto_expert_info(e.bad_tlv_length, "TLV runs past the PDU")
            return
        end
        local v = off + 4
        if tlen == 0 then
            -- nothing to show
        elseif ttype == 0x0002 then
            tt:add_packet_field(f.hostname, tvb(v, tlen), ENC_UTF_8)
        elseif ttype == 0x0003 then
            if tlen == 8 then
                add_bridge_id(tt, tvb, v, "RSTP bridge ID")
            else
                tt:add_proto_expert_info(e.bad_tlv_length)
            end
        elseif ttype == 0x8001 then
            if tlen == 10 then
                add_bridge_id(tt, tvb, v, "RSTP bridge ID")
                tt:add(f.system_flags, tvb(v + 8, 1))
                tt:add(f.system_reserved, tvb(v + 9, 1))
            else
                tt:add_proto_expert_info(e.bad_tlv_length)
            end
        elseif ttype == 0x0004 then
            add_entries(tt, tvb, v, tlen, 14, "Adjacency", function(t, o)
                t:add(f.adj_neighbour, tvb(o, 6))
                t:add(f.adj_local_port, tvb(o + 6, 2))
                t:add(f.adj_remote_port, tvb(o + 8, 2))
                t:add(f.adj_cost, tvb(o + 10, 4))
            end)
        elseif ttype == 0x0005 then
            add_entries(tt, tvb, v, tlen, 8, "MAC home", function(t, o)
                t:add(f.mac_home_vid, tvb(o, 2))
                t:add(f.mac_home_mac, tvb(o + 2, 6))
            end)
        elseif ttype == 0x0006 then
            add_entries(tt, tvb, v, tlen, 12, "Binding", function(t, o)
                t:add(f.binding_vid, tvb(o, 2))
                t:add(f.binding_ip, tvb(o + 2, 4))
                t:add(f.binding_mac, tvb(o + 6, 6))
            end)
        elseif ttype == 0x0007 then
            add_entries(tt, tvb, v, tlen, 22, "LSP entry", function(t, o)
                t:add(f.entry_origin, tvb(o, 6))
                t:add(f.entry_fragment, tvb(o + 6, 2))
                t:add(f.entry_sequence, tvb(o + 8, 8))
                t:add(f.entry_lifetime, tvb(o + 16, 2))
                t:add(f.entry_checksum, tvb(o + 18, 4))
            end)
        elseif ttype == 0x0008 then
            add_entries(tt, tvb, v, tlen, 12, "MAC move", function(t, o)
                t:add(f.mac_move_vid, tvb(o, 2))
                t:add(f.mac_move_mac, tvb(o + 2, 6))
                t:add(f.mac_move_sequence, tvb(o + 8, 4))
            end)
        elseif ttype == 0x0009 and tlen == 8 then
            tt:add(f.fail_lsp_sequence, tvb(v, 8))
        else
            tt:add(f.tlv_value, tvb(v, tlen))
        end
        if not tlv_types[ttype] then
            if bit32.band(ttype, 0x8000) ~= 0 then
                tt:add_proto_expert_info(e.unknown_mandatory)
            else
                tt:add_proto_expert_info(e.unknown_tlv)
            end
        end
        off = v + tlen
    end
end

function p.dissector(tvb, pinfo, tree)
    if tvb:len() < HEADER_LEN then
        return 0
    end
    pinfo.cols.protocol = "SSTP"
    local t = tree:add(p, tvb(), "Satellite SSTP")
    local version = tvb(0, 1):uint()
    local vt = t:add(f.version, tvb(0, 1))
    if version ~= 1 then
        vt:add_proto_expert_info(e.bad_version)
        return tvb:len()
    end
    local ptype = tvb(1, 1):uint()
    local length = tvb(2, 2):uint()
    local tname = pdu_types[ptype] or string.format("type %d", ptype)
    t:add(f.type, tvb(1, 1))
    local lt = t:add(f.length, tvb(2, 2))
    if length < HEADER_LEN or length > MAX_PDU_LEN or length > tvb:len() then
        lt:add_proto_expert_info(e.bad_length)
        return tvb:len()
    end
    t:set_len(length)
    local pdu = tvb(0, length):bytes()
    local carried = tvb(4, 4):uint()
    local computed = crc32(pdu, 4, 8)
    t:add(f.checksum, tvb(4, 4))
    if carried == computed then
        t:add(f.checksum_status, "good")
    else
        t:add(f.checksum_status, "bad"):add_proto_expert_info(e.bad_checksum,
            string.format("Bad PDU checksum: computed 0x%08x", computed))
    end
    t:add(f.sender, tvb(8, 6))
    t:add(f.sender_port, tvb(14, 2))
    pinfo.cols.info = string.format("%s from %s port %d", tname,
        tostring(tvb(8, 6):ether()), tvb(14, 2):uint())
    t:append_text(", " .. tname)

    local need = fixed_len[ptype]
    if need == nil then
        t:add_proto_expert_info(e.bad_type)
        return length
    end
    if length < HEADER_LEN + need then
        lt:add_proto_expert_info(e.bad_length,
            string.format("%s needs at least %d octets", tname, HEADER_LEN + need))
        return length
    end
    local o = HEADER_LEN
    if ptype == 1 then
        t:add(f.hello_nonce, tvb(o, 8))
        t:add(f.hello_interval, tvb(o + 8, 4))
        t:add(f.hello_dead_count, tvb(o + 12, 1))
        t:add(f.hello_flags, tvb(o + 13, 1))
        t:add(f.hello_reserved, tvb(o + 14, 2))
        t:add(f.hello_neighbour, tvb(o + 16, 6))
        t:add(f.hello_neighbour_port, tvb(o + 22, 2))
        t:add(f.hello_neighbour_nonce, tvb(o + 24, 8))
    elseif ptype == 2 then
        t:add(f.lsp_origin, tvb(o, 6))
        t:add(f.lsp_fragment, tvb(o + 6, 2))
        t:add(f.lsp_sequence, tvb(o + 8, 8))
        t:add(f.lsp_lifetime, tvb(o + 16, 2))
        t:add(f.lsp_checksum, tvb(o + 18, 4))
        -- Content checksum: from the origin to the end, lifetime and
        -- checksum zeroed (PDU offsets 32..38 are 16..22 of the content).
        local content = tvb(o, length - o):bytes()
        local c = crc32(content, 16, 22)
        if c == tvb(o + 18, 4):uint() then
            t:add(f.lsp_checksum_status, "good")
        else
            t:add(f.lsp_checksum_status, "bad"):add_proto_expert_info(e.bad_lsp_checksum,
                string.format("Bad LSP content checksum: computed 0x%08x", c))
        end
        local ft = t:add(f.lsp_flags, tvb(o + 22, 1))
        ft:add(f.lsp_overload, tvb(o + 22, 1))
        t:add(f.lsp_reserved, tvb(o + 23, 1))
        pinfo.cols.info:append(string.format(": %s-%04x seq %s", tostring(tvb(o, 6):ether()),
            tvb(o + 6, 2):uint(), tostring(tvb(o + 8, 8):uint64())))
    elseif ptype == 3 then
        t:add(f.csnp_start_origin, tvb(o, 6))
        t:add(f.csnp_start_fragment, tvb(o + 6, 2))
        t:add(f.csnp_end_origin, tvb(o + 8, 6))
        t:add(f.csnp_end_fragment, tvb(o + 14, 2))
    elseif ptype == 5 then
        t:add(f.fail_origin, tvb(o, 6))
        t:add(f.fail_sequence, tvb(o + 6, 4))
        t:add(f.fail_neighbour, tvb(o + 10, 6))
        t:add(f.fail_local_port, tvb(o + 16, 2))
        t:add(f.fail_remote_port, tvb(o + 18, 2))
        t:add(f.fail_reason, tvb(o + 20, 1))
        t:add(f.fail_hop_limit, tvb(o + 21, 1))
    end
    dissect_tlvs(tvb, t, o + need, length)
    -- Octets after the PDU length (Ethernet padding to 60 octets) are
    -- ignored by a receiver; shown here, as a Lua dissector cannot hand
    -- them back to the Ethernet dissector as its padding.
    if tvb:len() > length then
        tree:add(f.padding, tvb(length))
    end
    return tvb:len()
end

DissectorTable.get("ethertype"):add(SSTP_ETHERTYPE, p)

-- The unicast tag (docs/sstp.md, "Unicast tag"): six octets a Satellite
-- switch puts after the MACs of a frame it routes to another Satellite
-- switch; EtherType 0x88B6, then one 32-bit word, then the frame's own
-- EtherType and payload, handed back to Wireshark's EtherType table.
local UNICAST_TAG_ETHERTYPE = 0x88B6
local ut = Proto("satuc", "Satellite SSTP unicast tag")
local uf = {
    word = ProtoField.uint32("satuc.word", "Tag", base.HEX),
    repair_hop = ProtoField.bool("satuc.repair_hop", "Repair hop", 32, nil, 0x80000000),
    repaired = ProtoField.bool("satuc.repaired", "Repaired", 32, nil, 0x40000000),
    distance = ProtoField.uint32("satuc.distance", "Sender's distance", base.DEC, nil, 0x3FFFFFFF),
    ethertype = ProtoField.uint16("satuc.ethertype", "EtherType", base.HEX),
}
ut.fields = { uf.word, uf.repair_hop, uf.repaired, uf.distance, uf.ethertype }

function ut.dissector(tvb, pinfo, tree)
    if tvb:len() < 6 then
        return 0
    end
    local t = tree:add(ut, tvb(0, 6))
    local w = t:add(uf.word, tvb(0, 4))
    w:add(uf.repair_hop, tvb(0, 4))
    w:add(uf.repaired, tvb(0, 4))
    w:add(uf.distance, tvb(0, 4))
    t:add(uf.ethertype, tvb(4, 2))
    t:append_text(string.format(", distance %d", tvb(0, 4):uint() % 0x40000000))
    local inner = DissectorTable.get("ethertype"):get_dissector(tvb(4, 2):uint())
    if inner ~= nil then
        inner:call(tvb(6):tvb(), pinfo, tree)
    end
    return tvb:len()
end

DissectorTable.get("ethertype"):add(UNICAST_TAG_ETHERTYPE, ut)
