import {
  Box,
  Chip,
  Divider,
  Drawer,
  IconButton,
  Link as MuiLink,
  List,
  ListItem,
  ListItemButton,
  ListItemText,
  Paper,
  Stack,
  TextField,
  Typography,
} from "@mui/material";
import CloseIcon from "@mui/icons-material/Close";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { PageState } from "../../components/PageState";
import { formatMoney } from "../../lib/format";

type Product = components["schemas"]["ProductOut"];

function premium(product: Product, locale: string, t: (key: string) => string): string {
  const range = product.premium_range;
  if (!range) return "—";
  const low = formatMoney(range.min, range.currency, locale);
  const high = formatMoney(range.max, range.currency, locale);
  return `${low} – ${high} ${t(`products.period.${range.period}`)}`;
}

function ProductDetail({ product, onClose }: { product: Product; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const documents = useQuery({
    queryKey: ["products", product.id, "documents"],
    queryFn: async () =>
      unwrap(await api.GET("/api/products/{product_id}/documents", { params: { path: { product_id: product.id } } })),
  });
  const section = (title: string, items: string[]) =>
    items.length ? (
      <Box>
        <Typography variant="subtitle2" component="h3">
          {title}
        </Typography>
        <ul style={{ marginTop: 4 }}>
          {items.map((item) => (
            <li key={item}>
              <Typography variant="body2">{item}</Typography>
            </li>
          ))}
        </ul>
      </Box>
    ) : null;
  return (
    <Box sx={{ width: 440, p: 3 }} role="region" aria-label={product.name}>
      <Stack direction="row" sx={{ alignItems: "flex-start" }}>
        <Box sx={{ flexGrow: 1 }}>
          <Typography variant="h6" component="h2">
            {product.name}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            {product.insurer} · {product.category_name}
          </Typography>
        </Box>
        <IconButton aria-label={t("products.close")} onClick={onClose}>
          <CloseIcon />
        </IconButton>
      </Stack>
      <Stack spacing={2} sx={{ mt: 2 }}>
        {product.description ? <Typography variant="body2">{product.description}</Typography> : null}
        <Box sx={{ display: "grid", gridTemplateColumns: "1fr 1fr", gap: 1 }}>
          <Typography variant="body2">
            <strong>{t("products.eligibility")}:</strong>{" "}
            {t("products.ages", { min: product.eligibility.min_age, max: product.eligibility.max_age })}
          </Typography>
          <Typography variant="body2">
            <strong>{t("products.premium")}:</strong> {premium(product, i18n.language, t)}
          </Typography>
          {product.cover_amount ? (
            <Typography variant="body2">
              <strong>{t("products.cover")}:</strong> {product.cover_amount}
            </Typography>
          ) : null}
        </Box>
        {section(t("products.highlights"), product.coverage_highlights)}
        {section(t("products.exclusions"), product.exclusions)}
        {section(t("products.riders"), product.riders)}
        {section(t("products.claims"), product.claim_process)}
        <Divider />
        <Typography variant="subtitle2" component="h3">
          {t("products.documents")}
        </Typography>
        <PageState loading={documents.isPending} error={documents.error} empty={documents.data?.items.length === 0}>
          <List dense>
            {documents.data?.items.map((document) => (
              <ListItem key={document.id} disablePadding>
                <MuiLink href={document.download_url}>{document.filename}</MuiLink>
              </ListItem>
            ))}
          </List>
        </PageState>
      </Stack>
    </Box>
  );
}

/** The catalog by category: what each product covers, for whom, at what price, and its documents. */
export default function ProductsPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const category = params.get("category") ?? "";
  const q = params.get("q") ?? "";
  const [open, setOpen] = useState<Product | null>(null);
  const categories = useQuery({
    queryKey: ["products", "categories"],
    queryFn: async () => unwrap(await api.GET("/api/products/categories", { params: { query: { page_size: 100 } } })),
  });
  const products = useQuery({
    queryKey: ["products", "list", category, q],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/products", {
          params: { query: { page_size: 100, active: true, ...(category ? { category_id: category } : {}), ...(q ? { q } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  return (
    <Stack spacing={2}>
      <Typography variant="h5" component="h1">
        {t("products.title")}
      </Typography>
      <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: "wrap", alignItems: "center" }}>
        <Chip label={t("products.all")} color={category ? "default" : "primary"} onClick={() => set("category", "")} />
        {categories.data?.items.map((item) => (
          <Chip
            key={item.id}
            label={`${item.name} (${item.product_count})`}
            color={category === item.id ? "primary" : "default"}
            onClick={() => set("category", item.id)}
          />
        ))}
        <TextField size="small" label={t("products.search")} defaultValue={q} onBlur={(e) => set("q", e.target.value.trim())} />
      </Stack>
      <PageState
        loading={products.isPending}
        error={products.error ?? categories.error}
        empty={products.data?.items.length === 0}
        emptyText={t("products.none")}
      >
        <Paper>
          <List aria-label={t("products.title")}>
            {products.data?.items.map((product) => (
              <ListItem key={product.id} disablePadding divider>
                <ListItemButton onClick={() => setOpen(product)}>
                  <ListItemText
                    primary={product.name}
                    secondary={`${product.insurer} · ${product.category_name} · ${t("products.ages", {
                      min: product.eligibility.min_age,
                      max: product.eligibility.max_age,
                    })} · ${premium(product, i18n.language, t)}`}
                  />
                </ListItemButton>
              </ListItem>
            ))}
          </List>
        </Paper>
      </PageState>
      <Drawer anchor="right" open={open !== null} onClose={() => setOpen(null)}>
        {open ? <ProductDetail product={open} onClose={() => setOpen(null)} /> : null}
      </Drawer>
    </Stack>
  );
}
