// @generated automatically by Diesel CLI.

diesel::table! {
    articles (id) {
        id -> Uuid,
        sku -> Text,
        name -> Text,
        description -> Nullable<Text>,
        unit -> Text,
        unit_price -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        tax_rate -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

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
    classes (id) {
        id -> Text,
        description -> Nullable<Text>,
        default_funnel_id -> Nullable<Uuid>,
        default_owner_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    funnel_members (funnel_id, user_id) {
        funnel_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    funnel_stages (funnel_id, stage_id) {
        funnel_id -> Uuid,
        stage_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    funnels (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        warn_after_days -> Int4,
        critical_after_days -> Int4,
        metric_label -> Nullable<Text>,
        metric_formula -> Nullable<Text>,
        active -> Bool,
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
    lost_reasons (id) {
        id -> Uuid,
        label -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    settings (id) {
        id -> Bool,
        company_name -> Text,
        company_address -> Text,
        #[max_length = 3]
        default_currency -> Bpchar,
        quote_header_text -> Text,
        quote_footer_text -> Text,
        quote_valid_days -> Int4,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    stages (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        icon -> Nullable<Text>,
        probability -> Numeric,
        outcome -> Text,
        requires_lines -> Bool,
        warn_after_days -> Nullable<Int4>,
        critical_after_days -> Nullable<Int4>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
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
diesel::joinable!(classes -> funnels (default_funnel_id));
diesel::joinable!(classes -> users (default_owner_id));
diesel::joinable!(funnel_members -> funnels (funnel_id));
diesel::joinable!(funnel_members -> users (user_id));
diesel::joinable!(funnel_stages -> funnels (funnel_id));
diesel::joinable!(funnel_stages -> stages (stage_id));

diesel::allow_tables_to_appear_in_same_query!(
    articles,
    business_partners,
    classes,
    funnel_members,
    funnel_stages,
    funnels,
    idempotency_keys,
    lost_reasons,
    settings,
    stages,
    users,
);
