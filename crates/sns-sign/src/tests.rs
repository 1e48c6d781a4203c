use super::*;

const NOW: u64 = 1_700_000_000;
const YEAR_SECONDS: u64 = 365 * 24 * 3600;

/// One key for every test: generating RSA keys is the slow part.
fn identity() -> &'static SigningIdentity {
    static IDENTITY: std::sync::OnceLock<SigningIdentity> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| SigningIdentity::generate("sns.tern.test", NOW, YEAR_SECONDS).unwrap())
}

fn notification<'a>(subject: Option<&'a str>) -> SignedFields<'a> {
    SignedFields {
        message_type: MessageType::Notification,
        message: "hello\nworld",
        message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        subject,
        subscribe_url: None,
        token: None,
        timestamp: "2012-05-02T00:54:06.655Z",
        topic_arn: "arn:aws:sns:us-west-2:123456789012:MyTopic",
    }
}

#[test]
fn notifications_sign_their_fields_in_aws_order() {
    assert_eq!(
        string_to_sign(&notification(Some("My First Message"))),
        "Message\nhello\nworld\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
    );
    assert!(
        !string_to_sign(&notification(None)).contains("Subject"),
        "no Subject line without a subject"
    );
}

#[test]
fn confirmations_sign_subscribe_url_and_token() {
    let fields = SignedFields {
        message_type: MessageType::SubscriptionConfirmation,
        message: "You have chosen to subscribe",
        message_id: "m",
        subject: None,
        subscribe_url: Some("https://127.0.0.1/?Action=ConfirmSubscription"),
        token: Some("abc"),
        timestamp: "t",
        topic_arn: "arn",
    };
    assert_eq!(
        string_to_sign(&fields),
        "Message\nYou have chosen to subscribe\nMessageId\nm\nSubscribeURL\nhttps://127.0.0.1/?Action=ConfirmSubscription\nTimestamp\nt\nToken\nabc\nTopicArn\narn\nType\nSubscriptionConfirmation\n"
    );
}

#[test]
fn signatures_verify_against_the_certificate_and_fail_when_tampered() {
    let identity = identity();
    for version in [SignatureVersion::V1, SignatureVersion::V2] {
        let fields = notification(Some("subject"));
        let signature = identity.sign(version, &fields);
        let text = string_to_sign(&fields);
        verify(identity.certificate_pem(), version, &text, &signature).unwrap();
        let tampered = string_to_sign(&SignedFields {
            message: "hello\nworlds",
            ..fields
        });
        assert!(matches!(
            verify(identity.certificate_pem(), version, &tampered, &signature),
            Err(SignError::BadSignature)
        ));
    }
    let v1 = identity.sign(SignatureVersion::V1, &notification(None));
    let text = string_to_sign(&notification(None));
    assert!(
        verify(identity.certificate_pem(), SignatureVersion::V2, &text, &v1).is_err(),
        "a SHA1 signature is not a SHA256 one"
    );
    assert!(matches!(
        verify(
            identity.certificate_pem(),
            SignatureVersion::V1,
            &text,
            "%%%"
        ),
        Err(SignError::SignatureEncoding)
    ));
}

#[test]
fn identities_round_trip_through_pem_and_refuse_a_foreign_certificate() {
    let identity = identity();
    assert!(
        identity
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        identity
            .private_key_pem()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let again =
        SigningIdentity::from_pem(identity.private_key_pem(), identity.certificate_pem()).unwrap();
    let fields = notification(None);
    assert_eq!(
        again.sign(SignatureVersion::V2, &fields),
        identity.sign(SignatureVersion::V2, &fields),
        "PKCS#1 v1.5 signatures are deterministic, so the same key signs alike"
    );
    let other = TlsIdentity::generate(&["localhost"], &[], NOW, YEAR_SECONDS).unwrap();
    assert!(matches!(
        SigningIdentity::from_pem(identity.private_key_pem(), &other.certificate_pem),
        Err(SignError::KeyMismatch)
    ));
    assert!(SigningIdentity::from_pem("not a key", identity.certificate_pem()).is_err());
}

#[test]
fn tls_identities_name_their_hosts() {
    let addresses = ["127.0.0.1".parse().unwrap()];
    let tls = TlsIdentity::generate(&["localhost"], &addresses, NOW, YEAR_SECONDS).unwrap();
    let certificate = <x509_cert::Certificate as x509_cert::der::DecodePem>::from_pem(
        tls.certificate_pem.as_bytes(),
    )
    .unwrap();
    let extensions = certificate
        .tbs_certificate()
        .extensions()
        .expect("extensions");
    let san = x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.29.17");
    let names = extensions
        .iter()
        .find(|extension| extension.extn_id == san)
        .unwrap();
    let der = names.extn_value.as_bytes();
    assert!(der.windows(9).any(|window| window == b"localhost"));
    assert!(der.windows(4).any(|window| window == [127, 0, 0, 1]));
    let again = TlsIdentity::from_pem(&tls.private_key_pem, &tls.certificate_pem).unwrap();
    assert_eq!(again.certificate_der, tls.certificate_der);
}
