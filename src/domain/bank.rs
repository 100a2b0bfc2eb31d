//! Checks for the company's bank details printed on quotes: IBAN (ISO 13616) and BIC (ISO 9362).

use validator::ValidationError;

/// An IBAN in its electronic form or printed in groups of four (`DE89 3704 0044 0532 0130 00`):
/// a country code, two check digits and up to 30 letters or digits, whose mod-97 checksum
/// (ISO 7064) is 1.
pub fn iban(text: &str) -> Result<(), ValidationError> {
    let compact: String = text.chars().filter(|c| *c != ' ').collect();
    // ASCII first: the slices below cut at byte offsets.
    let shaped = compact.is_ascii()
        && (15..=34).contains(&compact.len())
        && compact[..2].chars().all(|c| c.is_ascii_uppercase())
        && compact[2..4].chars().all(|c| c.is_ascii_digit())
        && compact[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if shaped && checksum(&compact) == 1 {
        Ok(())
    } else {
        Err(ValidationError::new("iban")
            .with_message("must be an IBAN with a valid checksum, such as DE89 3704 0044 0532 0130 00".into()))
    }
}

/// The IBAN's remainder modulo 97: the first four characters moved to the end, each letter
/// read as two digits (A = 10 … Z = 35). `text` holds only ASCII letters and digits.
fn checksum(text: &str) -> u32 {
    let (head, tail) = text.split_at(4);
    tail.chars().chain(head.chars()).fold(0, |rest, c| {
        let value = c.to_digit(36).unwrap_or(0);
        let shift = if value < 10 { 10 } else { 100 };
        (rest * shift + value) % 97
    })
}

/// A BIC: four letters (bank), two letters (country), two letters or digits (location) and an
/// optional branch of three, upper case: `COBADEFFXXX`.
pub fn bic(text: &str) -> Result<(), ValidationError> {
    let bytes = text.as_bytes();
    let shaped = matches!(bytes.len(), 8 | 11)
        && bytes[..6].iter().all(u8::is_ascii_uppercase)
        && bytes[6..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if shaped {
        Ok(())
    } else {
        Err(ValidationError::new("bic").with_message("must be a BIC such as COBADEFFXXX (8 or 11 characters)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_with_a_valid_checksum_pass_in_either_form() {
        for valid in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "AT611904300234573201",
            "GB29NWBK60161331926819",
            "CH9300762011623852957",
        ] {
            assert!(iban(valid).is_ok(), "{valid}");
        }
    }

    #[test]
    fn ibans_with_a_wrong_digit_or_shape_fail() {
        for invalid in [
            "DE89370400440532013001",
            "DE88370400440532013000",
            "de89370400440532013000",
            "DE89-3704-0044-0532-0130-00",
            "DE89",
            "ÄE89370400440532013000",
            "DÄ89370400440532013000",
            "",
        ] {
            assert!(iban(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn bics_have_eight_or_eleven_characters() {
        assert!(bic("COBADEFFXXX").is_ok() && bic("DEUTDEFF").is_ok() && bic("MARKDEF1700").is_ok());
        assert!(bic("COBADEFF1").is_err() && bic("cobadeffxxx").is_err() && bic("C0BADEFF").is_err());
        assert!(bic("").is_err() && bic("COBADEFFXXXX").is_err());
    }
}
