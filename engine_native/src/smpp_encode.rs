//! Encoding SMPP PDUs, refusing what decoding would refuse.

use super::{
    max_len, status, Bind, Body, DataSm, Pdu, ShortMessage, SmppError, Tlvs, MAX_SHORT_MESSAGE,
};

/// Writes fields, checking what decoding would reject, so that whatever
/// encodes also decodes to the same PDU.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    fn c_octets(
        &mut self,
        value: &[u8],
        field: &str,
        max: usize,
        status: u32,
    ) -> Result<(), SmppError> {
        if let Some(nul) = value.iter().position(|&b| b == 0) {
            return Err(SmppError::new(
                status,
                self.out.len() + nul,
                format!("{field} contains a NUL octet"),
            ));
        }
        if value.len() >= max {
            return Err(SmppError::new(
                status,
                self.out.len(),
                format!("{field} is {} octets, at most {} fit", value.len(), max - 1),
            ));
        }
        self.out.extend_from_slice(value);
        self.out.push(0);
        Ok(())
    }
}

/// Encode a PDU; an error names the field that does not fit SMPP 3.4.
pub fn encode(pdu: &Pdu) -> Result<Vec<u8>, SmppError> {
    let mut out = Vec::with_capacity(64);
    encode_into(pdu, &mut out)?;
    Ok(out)
}

/// Append the encoding of `pdu` to `out` (left unchanged on error).
pub fn encode_into(pdu: &Pdu, out: &mut Vec<u8>) -> Result<(), SmppError> {
    let start = out.len();
    let result = write_pdu(pdu, out, start);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_pdu(pdu: &Pdu, out: &mut Vec<u8>, start: usize) -> Result<(), SmppError> {
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&pdu.command_id().to_be_bytes());
    out.extend_from_slice(&pdu.command_status.to_be_bytes());
    out.extend_from_slice(&pdu.sequence_number.to_be_bytes());
    let mut w = Writer { out };
    let body_result = match &pdu.body {
        Body::BindReceiver(b) | Body::BindTransmitter(b) | Body::BindTransceiver(b) => {
            write_bind(&mut w, b)
        }
        Body::BindReceiverResp(b) | Body::BindTransmitterResp(b) | Body::BindTransceiverResp(b) => {
            match &b.system_id {
                Some(id) => w
                    .c_octets(id, "system_id", max_len::SYSTEM_ID, status::ESME_RINVSYSID)
                    .and_then(|()| b.tlvs.encode_into(w.out)),
                None => require_no_tlvs(&b.tlvs, "system_id", w.out.len()),
            }
        }
        Body::SubmitSmResp(m) | Body::DeliverSmResp(m) | Body::DataSmResp(m) => {
            match &m.message_id {
                Some(id) => w
                    .c_octets(
                        id,
                        "message_id",
                        max_len::MESSAGE_ID,
                        status::ESME_RINVMSGID,
                    )
                    .and_then(|()| m.tlvs.encode_into(w.out)),
                None => require_no_tlvs(&m.tlvs, "message_id", w.out.len()),
            }
        }
        Body::SubmitSm(sm) | Body::DeliverSm(sm) => write_short_message(&mut w, sm),
        Body::DataSm(sm) => write_data_sm(&mut w, sm),
        Body::Unbind
        | Body::UnbindResp
        | Body::EnquireLink
        | Body::EnquireLinkResp
        | Body::GenericNack => Ok(()),
    };
    body_result.map_err(|e| SmppError {
        offset: e.offset - start,
        command_id: Some(pdu.command_id()),
        sequence_number: Some(pdu.sequence_number),
        ..e
    })?;
    let length = u32::try_from(out.len() - start)
        .map_err(|_| SmppError::new(status::ESME_RINVCMDLEN, 0, "the PDU is longer than 4 GiB"))?;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

fn require_no_tlvs(tlvs: &Tlvs, field: &str, offset: usize) -> Result<(), SmppError> {
    if tlvs.is_empty() {
        Ok(())
    } else {
        Err(SmppError::new(
            status::ESME_RTLVNOTALLWD,
            offset,
            format!("TLVs cannot follow an absent {field}"),
        ))
    }
}

fn write_bind(w: &mut Writer<'_>, b: &Bind) -> Result<(), SmppError> {
    use status::*;
    w.c_octets(
        &b.system_id,
        "system_id",
        max_len::SYSTEM_ID,
        ESME_RINVSYSID,
    )?;
    w.c_octets(&b.password, "password", max_len::PASSWORD, ESME_RINVPASWD)?;
    w.c_octets(
        &b.system_type,
        "system_type",
        max_len::SYSTEM_TYPE,
        ESME_RINVSYSTYP,
    )?;
    w.u8(b.interface_version);
    w.u8(b.addr_ton);
    w.u8(b.addr_npi);
    w.c_octets(
        &b.address_range,
        "address_range",
        max_len::ADDRESS_RANGE,
        ESME_RBINDFAIL,
    )
}

fn write_short_message(w: &mut Writer<'_>, sm: &ShortMessage) -> Result<(), SmppError> {
    use status::*;
    w.c_octets(
        &sm.service_type,
        "service_type",
        max_len::SERVICE_TYPE,
        ESME_RINVSERTYP,
    )?;
    w.u8(sm.source_addr_ton);
    w.u8(sm.source_addr_npi);
    w.c_octets(
        &sm.source_addr,
        "source_addr",
        max_len::SM_ADDRESS,
        ESME_RINVSRCADR,
    )?;
    w.u8(sm.dest_addr_ton);
    w.u8(sm.dest_addr_npi);
    w.c_octets(
        &sm.destination_addr,
        "destination_addr",
        max_len::SM_ADDRESS,
        ESME_RINVDSTADR,
    )?;
    w.u8(sm.esm_class);
    w.u8(sm.protocol_id);
    w.u8(sm.priority_flag);
    w.c_octets(
        &sm.schedule_delivery_time,
        "schedule_delivery_time",
        max_len::TIME,
        ESME_RINVSCHED,
    )?;
    w.c_octets(
        &sm.validity_period,
        "validity_period",
        max_len::TIME,
        ESME_RINVEXPIRY,
    )?;
    w.u8(sm.registered_delivery);
    w.u8(sm.replace_if_present_flag);
    w.u8(sm.data_coding);
    w.u8(sm.sm_default_msg_id);
    let sm_length = u8::try_from(sm.short_message.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_SHORT_MESSAGE)
        .ok_or_else(|| {
            SmppError::new(
                ESME_RINVMSGLEN,
                w.out.len(),
                format!(
                    "short_message is {} octets, at most {MAX_SHORT_MESSAGE} fit (use message_payload)",
                    sm.short_message.len()
                ),
            )
        })?;
    w.u8(sm_length);
    w.out.extend_from_slice(&sm.short_message);
    sm.tlvs.encode_into(w.out)
}

fn write_data_sm(w: &mut Writer<'_>, sm: &DataSm) -> Result<(), SmppError> {
    use status::*;
    w.c_octets(
        &sm.service_type,
        "service_type",
        max_len::SERVICE_TYPE,
        ESME_RINVSERTYP,
    )?;
    w.u8(sm.source_addr_ton);
    w.u8(sm.source_addr_npi);
    w.c_octets(
        &sm.source_addr,
        "source_addr",
        max_len::DATA_SM_ADDRESS,
        ESME_RINVSRCADR,
    )?;
    w.u8(sm.dest_addr_ton);
    w.u8(sm.dest_addr_npi);
    w.c_octets(
        &sm.destination_addr,
        "destination_addr",
        max_len::DATA_SM_ADDRESS,
        ESME_RINVDSTADR,
    )?;
    w.u8(sm.esm_class);
    w.u8(sm.registered_delivery);
    w.u8(sm.data_coding);
    sm.tlvs.encode_into(w.out)
}
