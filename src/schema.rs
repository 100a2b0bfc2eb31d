// @generated automatically by Diesel CLI.

diesel::table! {
    business_partners (id) {
        id -> Uuid,
        number -> Text,
        kind -> Text,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        street -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        vat_id -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::joinable!(business_partners -> users (owner_id));

diesel::allow_tables_to_appear_in_same_query!(business_partners, idempotency_keys, users,);
