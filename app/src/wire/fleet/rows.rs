//! Rows on the wire: one array of arrays, `[slot gap, field mask, values of the set fields…]`,
//! each slot written as the gap from the one before; reading checks the mask and the count of
//! values.

use super::{Field, Row, Rows, Summary};
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

impl Serialize for Rows {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        let mut prev = 0u32;
        for row in &self.0 {
            seq.serialize_element(&RowOut {
                gap: row.slot.wrapping_sub(prev),
                row,
            })?;
            prev = row.slot;
        }
        seq.end()
    }
}

struct RowOut<'a> {
    gap: u32,
    row: &'a Row,
}

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mask = self.row.mask & Field::ALL;
        let mut seq = ser.serialize_seq(Some(2 + mask.count_ones() as usize))?;
        seq.serialize_element(&self.gap)?;
        seq.serialize_element(&mask)?;
        self.row.values.serialize_fields(mask, &mut seq)?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct RowsVisitor;
        impl<'de> Visitor<'de> for RowsVisitor {
            type Value = Rows;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of fleet rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                let mut prev = 0u32;
                while let Some(RowIn(mut row)) = seq.next_element::<RowIn>()? {
                    row.slot = prev
                        .checked_add(row.slot)
                        .ok_or_else(|| de::Error::custom("slot out of range"))?;
                    prev = row.slot;
                    rows.push(row);
                }
                Ok(Rows(rows))
            }
        }
        de.deserialize_seq(RowsVisitor)
    }
}

/// A row as read: `slot` still holds the gap until [`Rows`] resolves it.
struct RowIn(Row);

impl<'de> Deserialize<'de> for RowIn {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = RowIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[slot gap, mask, values…]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowIn, A::Error> {
                let gap: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mask: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if mask & !Field::ALL != 0 {
                    return Err(de::Error::custom(format!("unknown fields in mask {mask}")));
                }
                let values = Summary::deserialize_fields(mask, &mut seq)?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more values than the mask names"));
                }
                Ok(RowIn(Row {
                    slot: gap,
                    mask,
                    values,
                }))
            }
        }
        de.deserialize_seq(RowVisitor)
    }
}
