// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "xid8", schema = "pg_catalog"))]
    pub struct Xid8;
}

diesel::table! {
    activities (id) {
        id -> Uuid,
        kind -> Text,
        subject -> Text,
        body -> Nullable<Text>,
        business_partner_id -> Uuid,
        opportunity_id -> Nullable<Uuid>,
        owner_id -> Nullable<Uuid>,
        status -> Text,
        due_at -> Nullable<Timestamptz>,
        occurred_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        timeline_at -> Timestamptz,
        external_id -> Nullable<Text>,
        custom -> Jsonb,
        contact_id -> Nullable<Uuid>,
    }
}

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
        long_description -> Nullable<Text>,
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
        external_id -> Nullable<Text>,
        custom -> Jsonb,
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
    contacts (id) {
        id -> Uuid,
        business_partner_id -> Uuid,
        salutation -> Nullable<Text>,
        title -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        position -> Nullable<Text>,
        is_primary -> Bool,
        active -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        custom -> Jsonb,
    }
}

diesel::table! {
    custom_fields (id) {
        id -> Uuid,
        resource -> Text,
        key -> Text,
        label -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        options -> Array<Nullable<Text>>,
        required_from_stage_ids -> Array<Nullable<Uuid>>,
        show_on_quote -> Bool,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    custom_values (entity_id, field_id, item) {
        field_id -> Uuid,
        entity_id -> Uuid,
        num -> Nullable<Numeric>,
        day -> Nullable<Date>,
        txt -> Nullable<Text>,
        item -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Xid8;

    events (id) {
        id -> Uuid,
        ordinal -> Int8,
        txid -> Xid8,
        seq -> Nullable<Int8>,
        #[sql_name = "type"]
        type_ -> Text,
        subject_id -> Text,
        actor -> Nullable<Text>,
        data -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    exchange_rates (currency, valid_from) {
        #[max_length = 3]
        currency -> Bpchar,
        valid_from -> Date,
        rate -> Numeric,
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
        planned_followup_keeps_yellow -> Bool,
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
    line_contributions (line_id) {
        line_id -> Uuid,
        opportunity_id -> Uuid,
        funnel_id -> Uuid,
        owner_id -> Uuid,
        class_id -> Text,
        #[max_length = 3]
        currency -> Bpchar,
        status -> Text,
        day -> Nullable<Date>,
        article_id -> Nullable<Uuid>,
        sku -> Nullable<Text>,
        quantity -> Numeric,
        quantity_x_probability -> Numeric,
        value -> Numeric,
        value_x_probability -> Numeric,
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
    opportunities (id) {
        id -> Uuid,
        number -> Text,
        subject -> Text,
        description -> Nullable<Text>,
        business_partner_id -> Uuid,
        class_id -> Text,
        funnel_id -> Uuid,
        stage_id -> Uuid,
        owner_id -> Uuid,
        #[max_length = 3]
        currency -> Bpchar,
        status -> Text,
        probability_override -> Nullable<Numeric>,
        probability -> Numeric,
        target_value -> Numeric,
        weighted_value -> Numeric,
        line_count -> Int4,
        quantity -> Numeric,
        metric -> Nullable<Numeric>,
        expected_close_date -> Nullable<Date>,
        last_contact_at -> Timestamptz,
        stage_entered_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        lost_reason_id -> Nullable<Uuid>,
        lost_note -> Nullable<Text>,
        erp_reference -> Nullable<Text>,
        erp_handed_off_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        external_id -> Nullable<Text>,
        next_activity_id -> Nullable<Uuid>,
        next_activity_kind -> Nullable<Text>,
        next_activity_subject -> Nullable<Text>,
        next_activity_due_at -> Nullable<Timestamptz>,
        custom -> Jsonb,
    }
}

diesel::table! {
    opportunity_contacts (opportunity_id, contact_id) {
        opportunity_id -> Uuid,
        contact_id -> Uuid,
        role -> Text,
        position -> Int2,
    }
}

diesel::table! {
    opportunity_lines (id) {
        id -> Uuid,
        opportunity_id -> Uuid,
        position -> Int4,
        article_id -> Nullable<Uuid>,
        sku -> Nullable<Text>,
        description -> Text,
        quantity -> Numeric,
        unit -> Text,
        unit_price -> Numeric,
        discount_percent -> Numeric,
        tax_rate -> Numeric,
        line_total -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        long_description -> Nullable<Text>,
    }
}

diesel::table! {
    opportunity_stage_changes (id) {
        id -> Uuid,
        opportunity_id -> Uuid,
        from_stage_id -> Nullable<Uuid>,
        to_stage_id -> Uuid,
        probability -> Numeric,
        target_value -> Numeric,
        lost_reason_id -> Nullable<Uuid>,
        note -> Nullable<Text>,
        changed_by -> Nullable<Text>,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    quotas (id) {
        id -> Uuid,
        owner_id -> Nullable<Uuid>,
        funnel_id -> Nullable<Uuid>,
        period -> Text,
        measure -> Text,
        article_id -> Nullable<Uuid>,
        target -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    quote_lines (id) {
        id -> Uuid,
        quote_id -> Uuid,
        position -> Int4,
        article_id -> Nullable<Uuid>,
        sku -> Nullable<Text>,
        description -> Text,
        quantity -> Numeric,
        unit -> Text,
        unit_price -> Numeric,
        discount_percent -> Numeric,
        tax_rate -> Numeric,
        line_total -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        long_description -> Nullable<Text>,
    }
}

diesel::table! {
    quote_links (token_sha256) {
        token_sha256 -> Bytea,
        quote_id -> Uuid,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    quote_sendings (id) {
        id -> Uuid,
        quote_id -> Uuid,
        message_id -> Text,
        to_addresses -> Array<Nullable<Text>>,
        cc_addresses -> Array<Nullable<Text>>,
        subject -> Text,
        pdf_sha256 -> Nullable<Text>,
        acceptance_link -> Bool,
        activity_id -> Nullable<Uuid>,
        sent_by -> Text,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    quotes (id) {
        id -> Uuid,
        number -> Text,
        opportunity_id -> Uuid,
        business_partner_id -> Uuid,
        revision -> Int4,
        status -> Text,
        is_primary -> Bool,
        #[max_length = 3]
        currency -> Bpchar,
        quote_date -> Date,
        valid_until -> Date,
        header_text -> Text,
        customer_text -> Nullable<Text>,
        footer_text -> Text,
        net_total -> Numeric,
        tax_total -> Numeric,
        gross_total -> Numeric,
        sent_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        contact_id -> Nullable<Uuid>,
        decided_by_name -> Nullable<Text>,
        decided_from -> Nullable<Text>,
        decided_user_agent -> Nullable<Text>,
        custom -> Jsonb,
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
        win_on_quote_accept -> Bool,
        quote_email_subject -> Text,
        quote_email_text -> Text,
        register_court -> Nullable<Text>,
        register_number -> Nullable<Text>,
        managing_directors -> Nullable<Text>,
        vat_id -> Nullable<Text>,
        tax_number -> Nullable<Text>,
        iban -> Nullable<Text>,
        bic -> Nullable<Text>,
        bank_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        website -> Nullable<Text>,
    }
}

diesel::table! {
    stage_visits (opportunity_id, stage_id) {
        opportunity_id -> Uuid,
        stage_id -> Uuid,
        funnel_id -> Uuid,
        owner_id -> Uuid,
        class_id -> Text,
        first_entered_at -> Timestamptz,
        moved_on -> Bool,
        won_later -> Bool,
        days -> Nullable<Numeric>,
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

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Uuid,
        event_seq -> Int8,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_delivery_attempts (delivery_id, attempt) {
        delivery_id -> Uuid,
        attempt -> Int4,
        started_at -> Timestamptz,
        duration_ms -> Nullable<Int4>,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        secret -> Text,
        active -> Bool,
        description -> Nullable<Text>,
        last_seq -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        batch_size -> Int4,
    }
}

diesel::joinable!(activities -> business_partners (business_partner_id));
diesel::joinable!(activities -> contacts (contact_id));
diesel::joinable!(activities -> opportunities (opportunity_id));
diesel::joinable!(activities -> users (owner_id));
diesel::joinable!(business_partners -> users (owner_id));
diesel::joinable!(classes -> funnels (default_funnel_id));
diesel::joinable!(classes -> users (default_owner_id));
diesel::joinable!(contacts -> business_partners (business_partner_id));
diesel::joinable!(custom_values -> custom_fields (field_id));
diesel::joinable!(funnel_members -> funnels (funnel_id));
diesel::joinable!(funnel_members -> users (user_id));
diesel::joinable!(funnel_stages -> funnels (funnel_id));
diesel::joinable!(funnel_stages -> stages (stage_id));
diesel::joinable!(opportunities -> business_partners (business_partner_id));
diesel::joinable!(opportunities -> classes (class_id));
diesel::joinable!(opportunities -> funnels (funnel_id));
diesel::joinable!(opportunities -> lost_reasons (lost_reason_id));
diesel::joinable!(opportunities -> stages (stage_id));
diesel::joinable!(opportunities -> users (owner_id));
diesel::joinable!(opportunity_contacts -> contacts (contact_id));
diesel::joinable!(opportunity_contacts -> opportunities (opportunity_id));
diesel::joinable!(opportunity_lines -> articles (article_id));
diesel::joinable!(opportunity_lines -> opportunities (opportunity_id));
diesel::joinable!(opportunity_stage_changes -> lost_reasons (lost_reason_id));
diesel::joinable!(opportunity_stage_changes -> opportunities (opportunity_id));
diesel::joinable!(quotas -> articles (article_id));
diesel::joinable!(quotas -> funnels (funnel_id));
diesel::joinable!(quotas -> users (owner_id));
diesel::joinable!(quote_lines -> articles (article_id));
diesel::joinable!(quote_lines -> quotes (quote_id));
diesel::joinable!(quote_links -> quotes (quote_id));
diesel::joinable!(quote_sendings -> activities (activity_id));
diesel::joinable!(quote_sendings -> quotes (quote_id));
diesel::joinable!(quotes -> business_partners (business_partner_id));
diesel::joinable!(quotes -> contacts (contact_id));
diesel::joinable!(quotes -> opportunities (opportunity_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_delivery_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    activities,
    articles,
    business_partners,
    classes,
    contacts,
    custom_fields,
    custom_values,
    events,
    exchange_rates,
    funnel_members,
    funnel_stages,
    funnels,
    idempotency_keys,
    line_contributions,
    lost_reasons,
    opportunities,
    opportunity_contacts,
    opportunity_lines,
    opportunity_stage_changes,
    quotas,
    quote_lines,
    quote_links,
    quote_sendings,
    quotes,
    settings,
    stage_visits,
    stages,
    users,
    webhook_deliveries,
    webhook_delivery_attempts,
    webhooks,
);
