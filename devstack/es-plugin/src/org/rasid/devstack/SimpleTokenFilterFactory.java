package org.rasid.devstack;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;

import java.util.function.Function;

/** A token filter without settings: wraps one Lucene filter constructor. */
class SimpleTokenFilterFactory extends AbstractTokenFilterFactory {

    private final Function<TokenStream, TokenStream> filter;

    SimpleTokenFilterFactory(String name, Function<TokenStream, TokenStream> filter) {
        super(name, org.elasticsearch.common.settings.Settings.EMPTY);
        this.filter = filter;
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return filter.apply(tokenStream);
    }

    /** Filters that also apply to keyword normalizers and to query-side normalization. */
    static final class Normalizing extends SimpleTokenFilterFactory implements NormalizingTokenFilterFactory {
        Normalizing(String name, Function<TokenStream, TokenStream> filter) {
            super(name, filter);
        }
    }

    static AnalysisProvider<TokenFilterFactory> plain(Function<TokenStream, TokenStream> filter) {
        return (indexSettings, env, name, settings) -> new SimpleTokenFilterFactory(name, filter);
    }

    static AnalysisProvider<TokenFilterFactory> normalizing(Function<TokenStream, TokenStream> filter) {
        return (indexSettings, env, name, settings) -> new Normalizing(name, filter);
    }
}
